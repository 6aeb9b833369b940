"""The HTTP API's request and response bodies (they make its OpenAPI description)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

# At least one character that is not white space (a blank text means nothing). Written
# out, since the two regex engines disagree on two characters: JSON Schema's (ECMA-262)
# counts U+FEFF as space and not U+0085, the validator's (Unicode) the other way round;
# the fuzzer sent "\x85" as schema-valid and got a 422.
NOT_BLANK = r"[^\s\x85\ufeff]"
Text = Annotated[str, Field(min_length=1, max_length=1000, pattern=NOT_BLANK)]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]


def _integral(value: object) -> object:
    """JSON Schema counts 14.0 as an integer; strict validation would not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Integers within bounds that may be written 14.0 (bounds first, for the JSON schema).
Limit = Annotated[int, Field(ge=1, le=200), BeforeValidator(_integral)]
Offset = Annotated[int, Field(ge=0, le=10_000), BeforeValidator(_integral)]
Top = Annotated[int, Field(ge=1, le=100), BeforeValidator(_integral)]
# EXIF dates carry no time zone: local time as the camera wrote it, not RFC 3339.
LocalTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "the camera's local date and time (EXIF), no time zone",
        }
    ),
]


# A label set's name is a part of its URL: no slash or backslash, no control characters
# (the library also refuses "." and "..", and blank names).
LABEL_SET_NAME_PATTERN = r"^[^/\\\x00-\x1f\x7f]+$"
LabelSetName = Annotated[
    str, Field(min_length=1, max_length=100, pattern=LABEL_SET_NAME_PATTERN)
]


def number_from_query(value: object) -> object:
    """A query parameter's digits as the number a Literal of numbers compares with."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _iso_day(value: object) -> object:
    """Only YYYY-MM-DD (or a date): pydantic would read 0 or "0" as 1970-01-01."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value)  # ValueError for a day that does not exist
    raise ValueError("give a date as YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_iso_day)]


Sort = Literal["score", "newest", "oldest"]
# A region of a picture: x, y, width, height in pixels, or fractions when all are <= 1.
Start = Annotated[float, Field(ge=0.0, le=1_000_000.0)]
Extent = Annotated[float, Field(gt=0.0, le=1_000_000.0)]
Region = tuple[Start, Start, Extent, Extent]
# The same written "X,Y,W,H": X and Y at least 0, W and H above 0.
_AT_LEAST_0 = r"\s*\d+(\.\d+)?\s*"
_ABOVE_0 = r"\s*(\d*[1-9]\d*(\.\d+)?|\d+\.\d*[1-9]\d*)\s*"
BOX_PATTERN = rf"^{_AT_LEAST_0},{_AT_LEAST_0},{_ABOVE_0},{_ABOVE_0}$"

# "LAT,LON" or "LAT,LON,KM", the ranges in the pattern itself: latitude -90..90,
# longitude -180..180, a distance above 0.
_LATITUDE = r"\s*[+-]?(90(\.0+)?|[1-8]?\d(\.\d+)?)\s*"
_LONGITUDE = r"\s*[+-]?(180(\.0+)?|(1[0-7]\d|[1-9]?\d)(\.\d+)?)\s*"
NEAR_PATTERN = rf"^{_LATITUDE},{_LONGITUDE}(,{_ABOVE_0})?$"
NEAR_HELP = (
    "only photos taken within KM (default 10) of LAT,LON: 'LAT,LON' or 'LAT,LON,KM' "
    "in decimal degrees (latitude -90..90, longitude -180..180, KM above 0)"
)
# A day that exists in some year: 31 days in the long months, 30 in the short ones, 29
# in February (the fuzzer found 11-31 let through to a 400).
_DAY_29 = r"[12][0-9]|0?[1-9]"
MONTH_DAY_PATTERN = (
    rf"^((0?[13578]|1[02])-(3[01]|{_DAY_29})|(0?[469]|11)-(30|{_DAY_29})"
    rf"|0?2-({_DAY_29}))$"
)
# A word: anything but white space and quotes (the phrases' marks).
CONTAINS_PATTERN = r'[^\s"\x85\ufeff]'
CONTAINS_HELP = (
    "only photos whose text (read in them, or their title, description or keywords) "
    "holds all these words, in any order; "
    '"a phrase" in quotes, in that order; case and accents aside'
)
DATE_FROM_HELP = (
    "only photos taken on this day or later (EXIF date; the day itself included, as "
    "the command line's --after)"
)
DATE_TO_HELP = (
    "only photos taken on this day or earlier (EXIF date; the day itself included, as "
    "the command line's --before). A range whose start is after its end is refused "
    "with 400: one parameter cannot state it of another."
)


# A person's id or name, as the command line's --person takes it.
# A keyword holds something besides white space and a hierarchy's separators.
KEYWORD_PATTERN = r"[^\s|\x85\ufeff]"
Keyword = Annotated[str, Field(min_length=1, max_length=500, pattern=KEYWORD_PATTERN)]
KEYWORD_HELP = (
    "only photos with all these keywords from XMP, IPTC or sidecars (repeat the "
    "parameter; any level of a hierarchy: Lisbon finds Places|Portugal|Lisbon)"
)
Rating = Annotated[int, Field(ge=-1, le=5), BeforeValidator(_integral)]
RATING_HELP = "only photos rated at least this many stars (xmp:Rating; -1: rejected)"
ColourLabel = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK)]
LABEL_HELP = "only photos with this colour label (xmp:Label: Red, Green, ...), any case"
PersonKey = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
PersonName = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Error(BaseModel):
    error: str = Field(description="what went wrong and how to fix it, in one line")


class Filters(BaseModel):
    """Which images a search may answer with, and which page of them."""

    limit: Limit = 60
    offset: Offset = 0
    folder: str | None = Field(
        default=None, description="only images below this folder"
    )
    tag: str | None = Field(
        default=None, description="only images with this assigned tag"
    )
    date_from: Day | None = Field(default=None, description=DATE_FROM_HELP)
    date_to: Day | None = Field(default=None, description=DATE_TO_HELP)
    min_score: Score | None = None
    place: str | None = Field(
        default=None,
        max_length=200,
        description="only photos taken in this town, region or country (name or "
        "ISO code), from their GPS position",
    )
    near: str | None = Field(default=None, pattern=NEAR_PATTERN, description=NEAR_HELP)
    camera: str | None = Field(
        default=None,
        max_length=200,
        description="only photos whose camera make, model or lens contains this",
    )
    sort: Sort = Field(
        default="score",
        description="score: best first; newest / oldest: by EXIF date among the best "
        "matches (all those over min_score when given)",
    )
    person: list[PersonKey] = Field(
        default_factory=list,
        max_length=20,
        description="only photos all these persons are in (ids or names, as "
        "/api/people lists them); an unknown one is refused with 404",
    )
    contains: str | None = Field(
        default=None,
        max_length=500,
        pattern=CONTAINS_PATTERN,
        description=CONTAINS_HELP,
    )
    keyword: list[Keyword] = Field(
        default_factory=list, max_length=20, description=KEYWORD_HELP
    )
    rating: Rating | None = Field(default=None, description=RATING_HELP)
    label: ColourLabel | None = Field(default=None, description=LABEL_HELP)


# Ids are SQLite integers, handed out from 1 up; 2**53 is the largest that every JSON
# client (JavaScript's numbers) reads exactly.
MAX_ID = 2**53
ImageId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]


class Request(BaseModel):
    """A JSON request body: unknown fields are refused, and numbers must be numbers (no
    `true` or `"5"` taken for 1 or 5)."""

    model_config = ConfigDict(extra="forbid", strict=True)


Weight = Annotated[float, Field(ge=-10.0, le=10.0)]


class TextTerm(Request):
    """A sentence to search by, weighted (a negative weight steers away from it)."""

    text: Text
    weight: Weight = 1.0


class ImageTerm(Request):
    """A library image to search by (or a region of it), weighted: a result marked good
    (positive weight) or bad (negative) refines the query."""

    image_id: ImageId
    weight: Weight = 1.0
    # Not strict: JSON has no tuples, and the list it gives is this tuple.
    box: Region | None = Field(
        default=None,
        strict=False,
        description="only this region: [x, y, width, height] in pixels of the upright "
        "picture, or fractions of it when all four are at most 1. A region wholly "
        "outside the picture is refused with 400: its size is not known here.",
    )


class SearchRequest(Request, Filters):
    terms: Annotated[
        list[TextTerm | ImageTerm],
        Field(
            min_length=1,
            max_length=20,
            description="the query's terms, summed by weight; terms that cancel out "
            "(their sum points nowhere) are refused with 400, which a schema cannot "
            "state",
        ),
    ]


class MomentOut(BaseModel):
    t: float = Field(description="seconds from the start of the video")
    score: float


class Hit(BaseModel):
    id: int
    path: str
    name: str
    score: float | None = Field(
        default=None, description="cosine similarity to the query"
    )
    width: int | None
    height: int | None
    taken_at: LocalTime | None
    version: int = Field(description="changes when the file does (for caching)")
    kind: Literal["photo", "video"] = "photo"
    duration: float | None = Field(default=None, description="a video's, in seconds")
    video: int | None = Field(
        default=None,
        description="the id of the video to play: the hit's own, or a Live Photo's "
        "motion part's",
    )
    t: float | None = Field(
        default=None, description="seconds into `video` of the best-matching moment"
    )
    moments: list[MomentOut] = Field(
        default_factory=list, description="the video's best moments, best first"
    )
    people: list[PersonInPhoto] = Field(
        default_factory=list,
        description="the persons in it (hidden ones left out), largest face first",
    )
    text: str | None = Field(
        default=None,
        description="the line of its text that holds most of the words asked for "
        "(contains, or the query's words); null where none does",
    )
    text_box: list[Fraction] | None = Field(
        default=None,
        description="that line's box: left, top, right, bottom, fractions of the "
        "upright picture",
    )


class TextLineOut(BaseModel):
    text: str
    confidence: float = Field(description="the reader's, 0-1")
    box: list[Fraction] = Field(
        description="left, top, right, bottom: fractions of the upright picture"
    )
    quad: list[list[Fraction]] = Field(
        description="the four corners [x, y], clockwise from the text's top left"
    )
    t: float | None = Field(default=None, description="a video's: the moment's second")


class Download(Request):
    """Library photos to download together, as one ZIP of their files."""

    ids: list[ImageId] = Field(
        min_length=1, max_length=1000, description="the images, as results list them"
    )


class RegionOut(BaseModel):
    name: str
    kind: str = Field(description="MWG's region type: Face, Pet, Focus, ...")
    box: list[Fraction] = Field(
        description="left, top, width, height: fractions of the upright picture"
    )


class MetadataOut(BaseModel):
    """What other photo programs wrote of a photo (XMP embedded and in sidecars, IPTC,
    Google Takeout's JSON), as the library read it."""

    keywords: list[str] = Field(
        default=[], description="hierarchical ones with their levels joined by |"
    )
    title: str | None = None
    description: str | None = None
    rating: int | None = Field(
        default=None, description="xmp:Rating: 1-5 stars, 0 none, -1 rejected"
    )
    label: str | None = Field(default=None, description="xmp:Label, a colour label")
    regions: list[RegionOut] = Field(
        default=[], description="named regions (faces named in another program)"
    )
    taken_at: str | None = Field(
        default=None, description="the date they give (used where EXIF has none)"
    )
    latitude: float | None = None
    longitude: float | None = None
    sources: list[str] = Field(default=[], description="the files it was read from")
    problems: list[str] = Field(
        default=[], description="what could not be read, and why"
    )


class PersonInPhoto(BaseModel):
    person: int = Field(description="the person's id")
    name: str | None
    box: list[Fraction] = Field(
        description="left, top, right, bottom: fractions of the upright picture"
    )
    t: float | None = Field(default=None, description="a video's: the moment's second")


class PendingOut(BaseModel):
    """An analysis a filter rests on that has not looked at every photo yet: the
    results may miss those photos (indexing goes on)."""

    analysis: str = Field(description='"faces" (person filters) or "text" (contains)')
    pending: int = Field(description="photos it has not looked at yet")
    of: int = Field(description="the library's searchable photos")
    message: str


class Results(BaseModel):
    results: list[Hit]
    offset: int
    limit: int
    more: bool = Field(description="whether a next page may hold more")
    pending: list[PendingOut] = Field(
        default=[],
        description="the filters' analyses still under way: what the results may miss",
    )


class TagOut(BaseModel):
    label: str
    label_set: str
    score: float
    assigned: bool
    ranges: list[tuple[float, float]] = Field(
        default_factory=list,
        description="a video's: the stretches (start, end seconds) the label shows in",
    )


class ImageDetail(Hit):
    folder: str
    size: int
    tags: list[TagOut]
    place: str | None = Field(
        default=None, description="town, region, country of its GPS position"
    )
    latitude: float | None = None
    longitude: float | None = None
    camera: str | None = None
    lens: str | None = None
    exposure: str | None = Field(
        default=None, description='e.g. "1/250 s · f/1.8 · ISO 50 · 26 mm"'
    )
    utc_offset_min: int | None = Field(
        default=None, description="of taken_at (the camera's local time), when known"
    )


class DescribeRequest(Request):
    texts: Annotated[list[Text], Field(min_length=1, max_length=500)]


class TextScoreOut(BaseModel):
    text: str
    score: float
    probability: float


class Ranked(BaseModel):
    results: list[TextScoreOut]


class Concepts(BaseModel):
    """What is in a photo, from the model's vocabulary (plus the library's labels and
    its vocabulary.txt)."""

    concepts: list[TextScoreOut] = Field(
        description="the concepts the photo shows, most probable first; probability: "
        "that it shows the concept (calibrated on the library, as tags are)"
    )
    caption: str | None = Field(
        description="assembled from the top concepts by templates ranked by the model "
        "(not written by a captioning model); null when no concept is shown"
    )


class LabelSetIn(Request):
    name: LabelSetName
    labels: Annotated[list[Text], Field(min_length=1, max_length=1000)]
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    top: Top | None = None
    exclusive: bool = Field(
        default=False,
        description="the labels exclude one another (closed set); otherwise each label "
        "is decided on its own",
    )


class LabelSetOut(BaseModel):
    name: str
    labels: list[str]
    threshold: float
    top: int
    exclusive: bool
    counts: dict[str, int] = Field(description="images each label is assigned to")


class Tagged(LabelSetOut):
    tagged: int = Field(description="images scored")


class Deleted(BaseModel):
    deleted: str = Field(description="the label set's name")


class DuplicateMember(BaseModel):
    id: int
    path: str
    name: str
    similarity: float
    version: int


class Duplicates(BaseModel):
    threshold: float
    groups: list[list[DuplicateMember]]


class RootOut(BaseModel):
    path: str
    online: bool
    offline_reason: str | None = Field(description="missing, unreadable or empty")
    offline_since: str | None


class Coverage(BaseModel):
    done: int = Field(description="images it has looked at, and analysed")
    failed: int = Field(description="images it looked at and could not analyse")
    pending: int = Field(
        description="images it has still to look at (indexing goes on)"
    )
    analysed: int = Field(description="done and failed")
    of: int = Field(description="the images that are its to look at: all three")
    enabled: bool = Field(
        description="whether this library's settings run it (records of one turned "
        "off stay)"
    )


class Status(BaseModel):
    library: str
    images: int
    videos: int = Field(default=0, description="among the images")
    video_seconds: int = Field(default=0, description="the videos' length in all")
    failed: int
    trashed: int = Field(description="photos whose files disappeared, kept a while")
    roots: list[RootOut] = Field(
        description="the indexed folders; an offline one keeps its photos"
    )
    vectors: int
    label_sets: int
    model: str | None
    index_type: str
    daemon: dict[str, Any] | None = Field(description="the watch daemon, if one runs")
    analyses: dict[str, Coverage] = Field(
        default={},
        description="for CLIP and each other analyzer (EXIF, ...): how far it has got",
    )
    faces: int = Field(default=0, description="faces found in the photos and videos")
    persons: int = Field(default=0, description="persons they form (hidden ones aside)")
    named_persons: int = Field(default=0, description="of those, the named ones")
    text_photos: int = Field(default=0, description="photos with text read in them")
    text_lines: int = Field(default=0, description="lines of text read in them")
    metadata_photos: int = Field(
        default=0,
        description="photos with facts from other programs (XMP, IPTC, Takeout)",
    )
    keywords: int = Field(default=0, description="keywords those give them")
    by_year: list[tuple[str, int]] = Field(
        default=[], description="photos per year taken, the most common first"
    )
    by_country: list[tuple[str, int]] = Field(
        default=[], description="photos per country (from GPS), the most common first"
    )
    by_camera: list[tuple[str, int]] = Field(
        default=[], description="photos per camera, the most common first"
    )


class PersonOut(BaseModel):
    id: int
    name: str | None
    faces: int
    photos: int
    cover: int | None = Field(description="the id of the photo with the largest face")
    cover_face: int | None = Field(description="that face's id (its thumbnail)")
    hidden: bool


class FaceOut(BaseModel):
    id: int
    image_id: int
    box: list[Fraction] = Field(
        description="left, top, right, bottom: fractions of the upright picture"
    )
    t: float | None = Field(description="a video's: the moment's second")
    size: int = Field(description="its height in pixels of the picture it was found in")
    person: int | None
    name: str | None
    identifiable: bool = Field(
        description="large and sharp enough to tell who it is; the others never form "
        "a person by themselves"
    )


class NameIn(Request):
    name: PersonName | None = Field(description="null: no name")


# A person's id: handed out as images' are.
PersonId = ImageId


class MergeIn(Request):
    others: Annotated[
        list[PersonId],
        Field(
            min_length=1,
            max_length=100,
            description="the persons that become this one (at least one other than "
            "it: else 400)",
        ),
    ]


class HiddenIn(Request):
    hidden: bool


class FacePersonIn(Request):
    """Who a face is: a person by id, or by name (a person of that name, else a new
    one); neither: not the person it is with. Both at once are refused with 400."""

    person: PersonId | None = None
    name: PersonName | None = None


class RemoveIn(Request):
    image_id: ImageId = Field(description="a photo the person is not in")
