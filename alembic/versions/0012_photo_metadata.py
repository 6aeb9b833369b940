"""what other photo programs know of a photo: XMP, IPTC and Google Takeout

`image_metadata` holds a photo's single facts (title, description, rating, colour label,
a date and a position), where they came from, what could not be read and why, and the
sidecars' stamps (to notice one changing or going). Where the photo's EXIF has no date
or no position, these stand in for it in the images and image_details rows, and
date_used / place_used say so (to take them back when the sidecar changes).
`image_keywords` holds its keywords, hierarchical ones with their levels joined by "|",
each also folded for matching at any level. `metadata_regions` holds named regions (faces
named in digiKam, Lightroom, Picasa ...), boxes in fractions of the upright picture.

Titles, descriptions and keywords are matched by `--contains` and a sentence's words
through the same folded text as the text read in photos (image_texts, migration 0011):
their rows now hold both. Existing libraries get their metadata from the metadata
analyzer on the next `index` or from the daemon.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _image_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["image_id"],
        ["images.id"],
        name=op.f(f"fk_{table}_image_id_images"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "image_metadata",
        sa.Column("image_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("date_used", sa.Boolean(), nullable=False),
        sa.Column("place_used", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.String(), nullable=False),
        sa.Column("problems", sa.String(), nullable=False),
        sa.Column("stamps", sa.String(), nullable=False),
        _image_fk("image_metadata"),
        sa.PrimaryKeyConstraint("image_id", name=op.f("pk_image_metadata")),
    )
    with op.batch_alter_table("image_metadata", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_image_metadata_rating"), ["rating"], unique=False
        )
    op.create_table(
        "image_keywords",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(), nullable=False),
        sa.Column("folded", sa.String(), nullable=False),
        _image_fk("image_keywords"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_keywords")),
    )
    with op.batch_alter_table("image_keywords", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_image_keywords_image_id"), ["image_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_image_keywords_folded"), ["folded"], unique=False
        )
    op.create_table(
        "metadata_regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("box", sa.String(), nullable=False),
        _image_fk("metadata_regions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metadata_regions")),
    )
    with op.batch_alter_table("metadata_regions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_metadata_regions_image_id"), ["image_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("metadata_regions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metadata_regions_image_id"))
    op.drop_table("metadata_regions")
    with op.batch_alter_table("image_keywords", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_keywords_folded"))
        batch_op.drop_index(batch_op.f("ix_image_keywords_image_id"))
    op.drop_table("image_keywords")
    with op.batch_alter_table("image_metadata", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_metadata_rating"))
    op.drop_table("image_metadata")
