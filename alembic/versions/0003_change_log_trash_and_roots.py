"""change log for readers, trash, and the roots with their offline state

Readers follow the vectors through `vector_changes` instead of rebuilding their index;
images that disappear go to a trash (`images.trashed_at`) instead of being deleted; the
folders a library indexes are remembered so that an unplugged one is reported, not emptied.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vector_changes",
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "generation", "image_id", name=op.f("pk_vector_changes")
        ),
    )
    op.create_table(
        "roots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("online_since", sa.DateTime(), nullable=True),
        sa.Column("offline_since", sa.DateTime(), nullable=True),
        sa.Column("offline_reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roots")),
        sa.UniqueConstraint("path", name=op.f("uq_roots_path")),
    )
    with op.batch_alter_table("library_info", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("changes_from", sa.Integer(), server_default="0", nullable=False)
        )
    # The log starts empty: it covers what happens from the current generation on.
    op.execute("UPDATE library_info SET changes_from = vectors_generation")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trashed_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_images_trashed_at"), ["trashed_at"], unique=False
        )


def downgrade() -> None:
    # Trashed images have no place in the old schema: they go for good.
    op.execute("DELETE FROM images WHERE trashed_at IS NOT NULL")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_images_trashed_at"))
        batch_op.drop_column("trashed_at")
    with op.batch_alter_table("library_info", schema=None) as batch_op:
        batch_op.drop_column("changes_from")
    op.drop_table("roots")
    op.drop_table("vector_changes")
