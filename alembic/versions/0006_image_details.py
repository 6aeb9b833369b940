"""what a photo's EXIF says: camera, lens, exposure, GPS position and its place, and a
Live Photo's content identifier

Photos indexed before this revision have no row: the next `index` or `watch` reads their
EXIF (no pixels decoded) and fills it in.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "image_details",
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("utc_offset_min", sa.Integer(), nullable=True),
        sa.Column("camera_make", sa.String(), nullable=True),
        sa.Column("camera_model", sa.String(), nullable=True),
        sa.Column("lens", sa.String(), nullable=True),
        sa.Column("focal_length_mm", sa.Float(), nullable=True),
        sa.Column("f_number", sa.Float(), nullable=True),
        sa.Column("exposure_s", sa.Float(), nullable=True),
        sa.Column("iso", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("city", sa.String(), nullable=True),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("country_code", sa.String(), nullable=True),
        sa.Column("content_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_image_details_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", name=op.f("pk_image_details")),
    )
    with op.batch_alter_table("image_details", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_image_details_latitude"), ["latitude"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_image_details_country_code"), ["country_code"], unique=False
        )


def downgrade() -> None:
    op.drop_table("image_details")
