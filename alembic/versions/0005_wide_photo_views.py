"""a wide photo's other views, next to its vector

A photo much wider than tall is encoded as overlapping squares along its long side too, so
that what the centre crop hides can be found (retrieval.views). Photos indexed before keep
their centre vector only, until they are encoded again.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("views", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.drop_column("views")
