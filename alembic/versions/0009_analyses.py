"""which analyzer, at which version, has looked at each image, and why it failed

An analyzer (indexer/analyzers/) yields records of its own for each photo: the CLIP
vectors, the EXIF details, and the analyses to come. A row here says that analyzer
`analyzer` at version `version` ran on the image (error: why it could not); an image
without a row for an analyzer, or with an older version, is analysed on the next `index`
or by the daemon, without the others being run again.

Existing images are recorded as analysed by what they already have: a vector (clip,
version 1), a row of details (exif, version 1). Photos indexed before details were kept
have none for exif, and get theirs on the next index, as before.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("analyzer", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("analyzed_at", sa.DateTime(), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_analyses_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", "analyzer", name=op.f("pk_analyses")),
    )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analyses_analyzer"), ["analyzer", "version"], unique=False
        )
    op.execute(
        "INSERT INTO analyses (image_id, analyzer, version, analyzed_at) "
        "SELECT image_id, 'clip', 1, CURRENT_TIMESTAMP FROM embeddings"
    )
    op.execute(
        "INSERT INTO analyses (image_id, analyzer, version, analyzed_at) "
        "SELECT image_id, 'exif', 1, CURRENT_TIMESTAMP FROM image_details"
    )


def downgrade() -> None:
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analyses_analyzer"))
    op.drop_table("analyses")
