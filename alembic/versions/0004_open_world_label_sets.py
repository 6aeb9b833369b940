"""open-world label sets: exclusive flag and the calibration fitted to the library

Label sets used to be closed-set (a softmax over their labels); they are now open-world
unless marked exclusive, and an open-world set keeps the fit of its labels' scores.
Existing sets become open-world: their stored tags stay until they are tagged again.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("label_sets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exclusive", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("calibration", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_sets", schema=None) as batch_op:
        batch_op.drop_column("calibration")
        batch_op.drop_column("exclusive")
