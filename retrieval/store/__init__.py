"""The library's database: images, their vectors, the model, label sets and tags.

Vectors in the database are the source of truth; the FAISS index is rebuilt from them, or
follows them through the change log. Each write method is one transaction, so a batch
lands whole or not at all. One module per concern; `Store` (retrieval.store.store) is all
of them; `QuickStore` (retrieval.store.quick) answers a cold query's few reads without
SQLAlchemy.

`Store` and `open_store` are imported on first use: a cold query imports this package for
the quick reader and must not pay for SQLAlchemy's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrieval.store.schema import DATABASE_NAME

if TYPE_CHECKING:
    from retrieval.store.roots import RootRecord
    from retrieval.store.store import Store, open_store
    from retrieval.store.tags import check_label_set_name

__all__ = [
    "DATABASE_NAME",
    "RootRecord",
    "Store",
    "check_label_set_name",
    "open_store",
]

_LAZY = {
    "Store": "retrieval.store.store",
    "open_store": "retrieval.store.store",
    "RootRecord": "retrieval.store.roots",
    "check_label_set_name": "retrieval.store.tags",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
