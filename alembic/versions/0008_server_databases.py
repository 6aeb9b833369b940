"""a library's tables in a database server: sizes and times in 64 bits, paths by bytes

SQLite's INTEGER holds 64 bits and compares text by bytes already; PostgreSQL needs
BIGINT for file sizes over 2 GB (videos) and for nanosecond modification times, and the
"C" collation for paths, so that a folder's files form one range of the index ("/a/b."
to "/a/b/"), as the queries of folders and of a shot's files expect. Nothing changes on
SQLite.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("images", "size", type_=sa.BigInteger(), existing_nullable=False)
    op.alter_column(
        "images", "mtime_ns", type_=sa.BigInteger(), existing_nullable=False
    )
    op.alter_column(
        "images",
        "path",
        type_=sa.String(collation="C"),
        existing_type=sa.String(),
        existing_nullable=False,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column("images", "path", type_=sa.String(), existing_nullable=False)
    op.alter_column("images", "mtime_ns", type_=sa.Integer(), existing_nullable=False)
    op.alter_column("images", "size", type_=sa.Integer(), existing_nullable=False)
