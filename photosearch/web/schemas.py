"""The HTTP API's request and response bodies (they make its OpenAPI description)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, model_validator

Text = Annotated[str, Field(min_length=1, max_length=1000)]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]
Limit = Annotated[int, Field(ge=1, le=200)]
Offset = Annotated[int, Field(ge=0, le=10_000)]


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
    date_from: date | None = Field(default=None, description="EXIF date, inclusive")
    date_to: date | None = Field(default=None, description="EXIF date, inclusive")
    min_score: Score | None = None


class Term(BaseModel):
    """One part of a combined query: a text or a library image, weighted (negative
    weights steer away from it)."""

    text: Text | None = None
    image_id: int | None = None
    weight: Annotated[float, Field(ge=-10.0, le=10.0)] = 1.0

    @model_validator(mode="after")
    def one_kind(self) -> Self:
        if (self.text is None) == (self.image_id is None):
            raise ValueError("a term has either a text or an image_id")
        return self


class SearchRequest(Filters):
    terms: Annotated[list[Term], Field(min_length=1, max_length=20)]


class Hit(BaseModel):
    id: int
    path: str
    name: str
    score: float | None = Field(
        default=None, description="cosine similarity to the query"
    )
    width: int | None
    height: int | None
    taken_at: datetime | None
    version: int = Field(description="changes when the file does (for caching)")


class Results(BaseModel):
    results: list[Hit]
    offset: int
    limit: int
    more: bool = Field(description="whether a next page may hold more")


class TagOut(BaseModel):
    label: str
    label_set: str
    score: float
    assigned: bool


class ImageDetail(Hit):
    folder: str
    size: int
    tags: list[TagOut]


class DescribeRequest(BaseModel):
    texts: Annotated[list[Text], Field(min_length=1, max_length=500)]


class TextScoreOut(BaseModel):
    text: str
    score: float
    probability: float


class Ranked(BaseModel):
    results: list[TextScoreOut]


class LabelSetIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    labels: Annotated[list[Text], Field(min_length=1, max_length=1000)]
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    top: Annotated[int, Field(ge=1, le=100)] | None = None


class LabelSetOut(BaseModel):
    name: str
    labels: list[str]
    threshold: float
    top: int
    counts: dict[str, int] = Field(description="images each label is assigned to")


class Tagged(LabelSetOut):
    tagged: int = Field(description="images scored")


class DuplicateMember(BaseModel):
    id: int
    path: str
    name: str
    similarity: float
    version: int


class Duplicates(BaseModel):
    threshold: float
    groups: list[list[DuplicateMember]]


class Status(BaseModel):
    library: str
    images: int
    failed: int
    vectors: int
    label_sets: int
    model: str | None
    index_type: str
    daemon: dict[str, Any] | None = Field(description="the watch daemon, if one runs")
