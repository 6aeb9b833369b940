"""videos: a video's length, its moments' times, and the time ranges of its tags

A video is one item with many vectors: its moments (frames sampled where the picture
changes, and every few seconds) are stored like a wide photo's views, one after another in
`embeddings.views`, and `embeddings.times` holds the second of each vector (the item's own
vector first). `images.duration` is the video's length in seconds (NULL for a photo), and
`image_tags.ranges` the stretches of a video where a tag's label shows.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration", sa.Float(), nullable=True))
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("times", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("image_tags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ranges", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("image_tags", schema=None) as batch_op:
        batch_op.drop_column("ranges")
    with op.batch_alter_table("embeddings", schema=None) as batch_op:
        batch_op.drop_column("times")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_column("duration")
