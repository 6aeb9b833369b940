"""Which photo folders can be read now. A folder that is missing, unreadable or empty while
the library holds photos under it is *offline* (an unplugged drive, a NAS that is down, an
empty mount point): nothing under it is removed, and it is reconciled when it comes back."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from retrieval.errors import UsageError
from retrieval.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Roots:
    online: list[str] = field(default_factory=list)
    offline: dict[str, str] = field(default_factory=dict)  # root -> why


def unavailable(root: str) -> str | None:
    """Why `root` cannot be indexed now ("missing", "unreadable", "empty"), or None."""
    if not os.path.exists(root):
        return "missing"
    if not os.path.isdir(root):
        raise UsageError(
            f"{root} is not a folder: give the folder that holds the photos"
        )
    if not os.access(root, os.R_OK | os.X_OK):
        return "unreadable"
    try:
        with os.scandir(root) as entries:
            if next(entries, None) is None:
                return "empty"
    except OSError:
        return "unreadable"
    return None


def classify(store: Store, roots: list[str], *, strict: bool) -> Roots:
    """Sort absolute `roots` into online and offline, and record that in the library.

    `strict`: a missing or unreadable root under which the library holds nothing is the
    user's mistake (UsageError); otherwise it is simply offline, with nothing to keep."""
    result = Roots()
    for root in roots:
        reason = unavailable(root)
        holds = reason is not None and store.holds_images_under(root)
        if reason is None or (reason == "empty" and not holds):
            result.online.append(root)
        elif holds or not strict:
            result.offline[root] = reason
        elif reason == "missing":
            raise UsageError(f"folder {root} does not exist: check the path")
        else:
            raise UsageError(f"folder {root} is not readable: fix its permissions")
    for root in sorted(store.record_roots(result.online, result.offline)):
        log.warning(
            "%s is offline (%s): its photos are kept as they are until it is back",
            root,
            result.offline[root],
        )
    return result
