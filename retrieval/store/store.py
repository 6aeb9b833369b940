"""The store: every concern's methods on one object."""

from __future__ import annotations

from retrieval.settings import Settings
from retrieval.store.analyses import AnalysesMixin
from retrieval.store.batch import BatchMixin
from retrieval.store.details import DetailsMixin
from retrieval.store.faces import FacesMixin
from retrieval.store.images import ImagesMixin
from retrieval.store.metadata import MetadataMixin
from retrieval.store.roots import RootsMixin
from retrieval.store.tags import TagsMixin
from retrieval.store.text import TextMixin
from retrieval.store.vectors import VectorsMixin


class Store(
    BatchMixin,
    ImagesMixin,
    VectorsMixin,
    TagsMixin,
    RootsMixin,
    DetailsMixin,
    AnalysesMixin,
    FacesMixin,
    TextMixin,
    MetadataMixin,
):
    pass


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """The store of the library the settings name (its folder, and its database)."""
    return Store.open(settings.library, create=create, database=settings.database)
