"""faces found in photos and video moments, the persons they form, and the user's "not
this person"

A face (retrieval/faces/) keeps its box and landmarks as fractions of the upright
picture, its quality, its vector and the model that made it, and the person it belongs
to. `pinned`: the user put it there, and clustering never takes it away; a rejection: the
user said it is not that person, and clustering never puts it there. Existing libraries
get their faces from the faces analyzer on the next `index` or from the daemon.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("hidden", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_persons_name"), ["name"], unique=False)
    op.create_table(
        "faces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("t", sa.Float(), nullable=True),
        sa.Column("box_left", sa.Float(), nullable=False),
        sa.Column("box_top", sa.Float(), nullable=False),
        sa.Column("box_right", sa.Float(), nullable=False),
        sa.Column("box_bottom", sa.Float(), nullable=False),
        sa.Column("landmarks", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sharpness", sa.Float(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("pinned", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_faces_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_faces_person_id_persons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faces")),
    )
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_faces_image_id"), ["image_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_faces_person_id"), ["person_id"], unique=False
        )
    op.create_table(
        "face_rejections",
        sa.Column("face_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["face_id"],
            ["faces.id"],
            name=op.f("fk_face_rejections_face_id_faces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_face_rejections_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "face_id", "person_id", name=op.f("pk_face_rejections")
        ),
    )


def downgrade() -> None:
    op.drop_table("face_rejections")
    with op.batch_alter_table("faces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_faces_person_id"))
        batch_op.drop_index(batch_op.f("ix_faces_image_id"))
    op.drop_table("faces")
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_name"))
    op.drop_table("persons")
