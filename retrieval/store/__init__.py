"""The library's database: images, their vectors, the model, label sets and tags.

Vectors in SQLite are the source of truth; the FAISS index is rebuilt from them, or follows
them through the change log. Each write method is one transaction, so a batch lands whole
or not at all. One module per concern; `Store` is all of them.
"""

from __future__ import annotations

from retrieval.schema import DATABASE_NAME
from retrieval.settings import Settings
from retrieval.store.batch import BatchMixin
from retrieval.store.details import DetailsMixin
from retrieval.store.images import ImagesMixin
from retrieval.store.roots import RootRecord, RootsMixin
from retrieval.store.tags import TagsMixin, check_label_set_name
from retrieval.store.vectors import VectorsMixin

__all__ = [
    "DATABASE_NAME",
    "RootRecord",
    "Store",
    "check_label_set_name",
    "open_store",
]


class Store(BatchMixin, ImagesMixin, VectorsMixin, TagsMixin, RootsMixin, DetailsMixin):
    pass


def open_store(settings: Settings, *, create: bool = False) -> Store:
    """The store of the library the settings name (its folder, and its database)."""
    return Store.open(settings.library, create=create, database=settings.database)
