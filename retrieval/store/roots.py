"""The folders a library indexes, and which of them are offline (an unplugged drive, a NAS
that is down): what is under an offline folder is kept, never removed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from retrieval.store.base import LIVE, StoreBase, now, path_under
from retrieval.store.models import Image, Root


@dataclass(frozen=True)
class RootRecord:
    path: str
    online_since: datetime | None  # when it was last found back (or first seen)
    offline_since: datetime | None  # None: online
    offline_reason: str | None  # "missing", "unreadable" or "empty"


class RootsMixin(StoreBase):
    def holds_images_under(self, folder: str) -> bool:
        """Whether the library has any image (trash aside) in or below `folder`."""
        with self.session() as s:
            query = select(Image.id).where(path_under(Image.path, [folder]), LIVE)
            return s.scalar(query.limit(1)) is not None

    def record_roots(self, online: list[str], offline: dict[str, str]) -> set[str]:
        """Remember what was seen of these roots now: `offline` maps a root to why.
        Returns the roots that were not known to be offline before. Only a change is
        written: the daemon looks every few seconds, and an idle library stays unwritten."""
        newly: set[str] = set()
        stamp = now()
        with self.session() as s:
            rows = {
                r.path: r
                for r in s.scalars(
                    select(Root).where(Root.path.in_([*online, *offline]))
                )
            }
            for path in [*online, *offline]:
                row = rows.get(path)
                if row is None:
                    row = Root(path=path)
                    s.add(row)
                if path in offline:
                    if row.offline_since is None:
                        row.offline_since = stamp
                        newly.add(path)
                    if row.offline_reason != offline[path]:
                        row.offline_reason = offline[path]
                elif row.offline_since is not None or row.online_since is None:
                    row.online_since = stamp
                    row.offline_since = row.offline_reason = None
        return newly

    def roots(self) -> list[RootRecord]:
        with self.session() as s:
            return [
                RootRecord(r.path, r.online_since, r.offline_since, r.offline_reason)
                for r in s.scalars(select(Root).order_by(Root.path))
            ]
