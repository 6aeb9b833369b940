"""the views of a wide photo are an analysis of the second pass, and photos are taken
newest first

Indexing now makes a photo searchable by its centre's vector first, and adds the squares
that cover a wide photo (its other views) in a second pass, as the views analyzer. Wide
photos indexed before already have their views: they are recorded as looked at by it
(version 1), so that nothing is encoded again. Their own vector stays what it was (the
mean of their views); `photosearch index --reencode` makes it their centre's, as for a
photo indexed now.

The second pass takes the newest photos first: `images.taken_at` gets an index.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A video's other vectors are its moments, not views: only photos (no times).
    op.execute(
        "INSERT INTO analyses (image_id, analyzer, version, analyzed_at) "
        "SELECT image_id, 'views', 1, CURRENT_TIMESTAMP FROM embeddings "
        "WHERE views IS NOT NULL AND times IS NULL"
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_images_taken_at"), ["taken_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_taken_at"))
    op.execute("DELETE FROM analyses WHERE analyzer = 'views'")
