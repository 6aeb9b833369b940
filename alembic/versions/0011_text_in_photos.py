"""text read in photos and video moments, and its search index

A line (retrieval/text/) keeps its text, the recogniser's confidence, its box (four
corners, in fractions of the upright picture), the moment of a video it was read in,
and the model that read it. `image_texts` holds each photo's text folded for matching
(retrieval/text/fold: case, accents, OCR's 0/O and 1/l slips): what `--contains` and a
sentence's words are matched against, by substring. Matching is indexed by trigrams:
SQLite's FTS5 (an external-content table kept in step by triggers; a SQLite without
FTS5 matches by scanning) and PostgreSQL's pg_trgm (a GIN index; without the extension,
by scanning). Existing libraries get their text from the text analyzer on the next
`index` or from the daemon.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE text_search USING fts5(folded, content='image_texts', "
    "content_rowid='image_id', tokenize='trigram')",
    "CREATE TRIGGER text_search_insert AFTER INSERT ON image_texts BEGIN "
    "INSERT INTO text_search(rowid, folded) VALUES (new.image_id, new.folded); END",
    "CREATE TRIGGER text_search_delete AFTER DELETE ON image_texts BEGIN "
    "INSERT INTO text_search(text_search, rowid, folded) "
    "VALUES ('delete', old.image_id, old.folded); END",
    "CREATE TRIGGER text_search_update AFTER UPDATE ON image_texts BEGIN "
    "INSERT INTO text_search(text_search, rowid, folded) "
    "VALUES ('delete', old.image_id, old.folded); "
    "INSERT INTO text_search(rowid, folded) VALUES (new.image_id, new.folded); END",
)


def upgrade() -> None:
    op.create_table(
        "text_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("t", sa.Float(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("quad", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_text_lines_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_lines")),
    )
    with op.batch_alter_table("text_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_text_lines_image_id"), ["image_id"], unique=False
        )
    op.create_table(
        "image_texts",
        sa.Column("image_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("folded", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_image_texts_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", name=op.f("pk_image_texts")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        try:
            with bind.begin_nested():
                for statement in SQLITE_SEARCH:
                    op.execute(statement)
        except sa.exc.OperationalError:
            pass  # no FTS5 in this SQLite: matched by scanning image_texts
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                op.execute(
                    "CREATE INDEX ix_image_texts_folded_trgm ON image_texts "
                    "USING gin (folded gin_trgm_ops)"
                )
        except sa.exc.DBAPIError:
            pass  # pg_trgm not installed or not allowed: matched by scanning


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS text_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS text_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_image_texts_folded_trgm")
    op.drop_table("image_texts")
    with op.batch_alter_table("text_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_text_lines_image_id"))
    op.drop_table("text_lines")
