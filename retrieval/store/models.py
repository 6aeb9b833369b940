"""The database tables, as typed SQLAlchemy models. Alembic migrations own the schema;
these models must match what the migrations build (a test diffs the two)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's INTEGER is 64 bits and its text compares by bytes; a server needs saying so
# (migration 0008): file sizes over 2 GB, nanosecond times, a folder's paths as one range.
BIG = BigInteger().with_variant(Integer(), "sqlite")
PATH = String().with_variant(String(collation="C"), "postgresql")

STATUS_OK = "ok"
STATUS_FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LibraryInfo(Base):
    """One row: the model the library's vectors come from."""

    __tablename__ = "library_info"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String)
    pretrained: Mapped[str] = mapped_column(String)
    dim: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Bumped in the same transaction as every change to the vectors; the FAISS file records
    # the generation it was built from, so a stale file is detected and rebuilt.
    vectors_generation: Mapped[int] = mapped_column(Integer, default=0)
    # The change log (VectorChange) holds every change after this generation: a reader
    # at this generation or later catches up from the log, an older one reloads whole.
    changes_from: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (
        CheckConstraint("status IN ('ok', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(PATH, unique=True)
    size: Mapped[int] = mapped_column(BIG)
    mtime_ns: Mapped[int] = mapped_column(BIG)
    content_hash: Mapped[str | None] = mapped_column(String, index=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # Indexed: the second pass of indexing takes the newest photos first.
    taken_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    status: Mapped[str] = mapped_column(String, default=STATUS_OK)
    error: Mapped[str | None] = mapped_column(String)
    indexed_at: Mapped[datetime] = mapped_column(DateTime)
    # Set when the file disappeared for real: the row keeps its vector and tags, out of
    # every result, until the trash is emptied or the same content comes back.
    trashed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # A video's length in seconds; None for a photo.
    duration: Mapped[float | None] = mapped_column(Float)

    embedding: Mapped[Embedding | None] = relationship(
        back_populates="image", cascade="all, delete-orphan", passive_deletes=True
    )


class Embedding(Base):
    """An image's vector: float16 little-endian bytes, L2-normalised. The source of truth
    that the FAISS index is rebuilt from."""

    __tablename__ = "embeddings"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The item's other vectors, one after another, same format: a wide photo's other
    # views, or a video's other moments (retrieval.index.ids).
    views: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A video's: the second of each vector, `vector` first then `views`, float32
    # little-endian; None for a photo.
    times: Mapped[bytes | None] = mapped_column(LargeBinary)

    image: Mapped[Image] = relationship(back_populates="embedding")


class LabelSet(Base):
    """Labels the user invented, kept so that newly indexed images get tagged too."""

    __tablename__ = "label_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    threshold: Mapped[float] = mapped_column(Float)
    top: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    exclusive: Mapped[bool] = mapped_column(default=False, server_default="0")
    # JSON of retrieval.tagging.calibration.Calibration; made again when the labels change.
    calibration: Mapped[str | None] = mapped_column(String)

    labels: Mapped[list[Label]] = relationship(
        back_populates="label_set",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Label.position",
    )


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("label_set_id", "text", name="uq_labels_set_text"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_set_id: Mapped[int] = mapped_column(
        ForeignKey("label_sets.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(String)
    position: Mapped[int] = mapped_column(Integer)

    label_set: Mapped[LabelSet] = relationship(back_populates="labels")


class ImageTag(Base):
    """An image's score for one label (its probability over the label set), and whether the
    set's threshold and top-N rule assigned the label."""

    __tablename__ = "image_tags"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[float] = mapped_column(Float)
    assigned: Mapped[bool] = mapped_column(default=False)
    # A video's: where the label shows, JSON [[start, end], ...] in seconds.
    ranges: Mapped[str | None] = mapped_column(String)


class VectorChange(Base):
    """One image whose vector was added, replaced, removed, trashed or restored in the
    transaction that advanced the vectors to `generation`. Readers holding an index of an
    older generation apply these instead of rebuilding."""

    __tablename__ = "vector_changes"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Root(Base):
    """A folder the user indexes, and since when it is offline (missing, unreadable or
    empty while the library holds photos under it): nothing under it is removed then."""

    __tablename__ = "roots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String, unique=True)
    online_since: Mapped[datetime | None] = mapped_column(DateTime)
    offline_since: Mapped[datetime | None] = mapped_column(DateTime)
    offline_reason: Mapped[str | None] = mapped_column(String)


class ImageDetails(Base):
    """What a photo's EXIF says (retrieval.media.exif.PhotoInfo) and the place its GPS
    position is in (retrieval.media.places). One row per image read since this table came:
    a row of nulls means "read, nothing there"; no row, "not read yet"."""

    __tablename__ = "image_details"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    utc_offset_min: Mapped[int | None] = mapped_column(Integer)
    camera_make: Mapped[str | None] = mapped_column(String)
    camera_model: Mapped[str | None] = mapped_column(String)
    lens: Mapped[str | None] = mapped_column(String)
    focal_length_mm: Mapped[float | None] = mapped_column(Float)
    f_number: Mapped[float | None] = mapped_column(Float)
    exposure_s: Mapped[float | None] = mapped_column(Float)
    iso: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float, index=True)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    city: Mapped[str | None] = mapped_column(String)
    region: Mapped[str | None] = mapped_column(String)
    country: Mapped[str | None] = mapped_column(String)
    country_code: Mapped[str | None] = mapped_column(String, index=True)
    content_id: Mapped[str | None] = mapped_column(String)


class Analysis(Base):
    """That an analyzer (indexer/analyzers/) at a version ran on an image, and why it
    failed if it did. No row, or an older version: the image is analysed again."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_analyzer", "analyzer", "version"),)

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    analyzer: Mapped[str] = mapped_column(String, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    analyzed_at: Mapped[datetime] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(String)


class Person(Base):
    """Someone the faces of the library form (retrieval.faces.persons): named or not.
    A person the user named, hid or corrected survives reclustering."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String, index=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FaceRow(Base):
    """A face found in a photo or a video's moment (retrieval.faces.model.Face): its box
    and landmarks as fractions of the upright picture, its vector and the model that
    made it, and the person it is (None: not yet known)."""

    __tablename__ = "faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    t: Mapped[float | None] = mapped_column(Float)
    box_left: Mapped[float] = mapped_column(Float)
    box_top: Mapped[float] = mapped_column(Float)
    box_right: Mapped[float] = mapped_column(Float)
    box_bottom: Mapped[float] = mapped_column(Float)
    landmarks: Mapped[str] = mapped_column(String)  # JSON: [[x, y], ...]
    score: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(Integer)
    sharpness: Mapped[float] = mapped_column(Float)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32
    model: Mapped[str] = mapped_column(String)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    # The user put it there (a name, a merge, a move): clustering never takes it away.
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class FaceRejection(Base):
    """The user said this face is not this person: clustering never puts it there."""

    __tablename__ = "face_rejections"

    face_id: Mapped[int] = mapped_column(
        ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )


class TextLineRow(Base):
    """A line of text read in a photo or a video's moment (retrieval.text.model): its
    text, confidence and box (JSON: four [x, y] corners, fractions of the upright
    picture), and the model that read it."""

    __tablename__ = "text_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    t: Mapped[float | None] = mapped_column(Float)
    line: Mapped[int] = mapped_column(Integer)  # its place in reading order
    text: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(Float)
    quad: Mapped[str] = mapped_column(String)
    model: Mapped[str] = mapped_column(String)


class ImageText(Base):
    """A photo's text folded for matching (retrieval.text.fold), one row per photo with
    any: the search indexes (migration 0011) are built on it."""

    __tablename__ = "image_texts"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    folded: Mapped[str] = mapped_column(String)


class ImageMetadata(Base):
    """What a photo's other programs wrote of it (retrieval.metadata): its single facts,
    their sources, what could not be read (JSON lists) and the sidecars' stamps (JSON:
    [path, mtime_ns, size])."""

    __tablename__ = "image_metadata"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    title: Mapped[str | None] = mapped_column(String)
    description: Mapped[str | None] = mapped_column(String)
    rating: Mapped[int | None] = mapped_column(Integer, index=True)
    label: Mapped[str | None] = mapped_column(String)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Whether the date and the position stand in for EXIF's missing ones (in images
    # and image_details).
    date_used: Mapped[bool] = mapped_column(Boolean)
    place_used: Mapped[bool] = mapped_column(Boolean)
    sources: Mapped[str] = mapped_column(String)
    problems: Mapped[str] = mapped_column(String)
    stamps: Mapped[str] = mapped_column(String)


class ImageKeyword(Base):
    """A keyword of a photo as written (a hierarchy's levels joined by "|"), and folded
    (retrieval.metadata.keywords) for matching at any level."""

    __tablename__ = "image_keywords"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    keyword: Mapped[str] = mapped_column(String)
    folded: Mapped[str] = mapped_column(String, index=True)


class MetadataRegion(Base):
    """A named region another program marked (a face, mostly): its box, JSON [left, top,
    width, height] in fractions of the upright picture."""

    __tablename__ = "metadata_regions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String)
    kind: Mapped[str] = mapped_column(String)
    box: Mapped[str] = mapped_column(String)


# What the migrations build that these models cannot say (migration 0011): a schema
# comparison leaves them out.
UNMODELLED_PREFIXES = ("text_search", "ix_image_texts_folded_trgm")


def modelled(obj: object, name: str | None, *_: object) -> bool:
    """Alembic's include_object: False for what UNMODELLED_PREFIXES names."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)
