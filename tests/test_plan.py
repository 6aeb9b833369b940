"""Planning a run from a scan: hashing on every core keeps the plan in scan order and
classifies each file as the one-at-a-time reading would."""

from __future__ import annotations

import errno

from indexer.plan import make_plan
from retrieval.records import FileStamp, FileState
from retrieval.store.models import STATUS_OK


def test_plan_in_scan_order_with_unreadable_and_vanished_files() -> None:
    def hasher(path: str) -> str:
        if path.endswith("locked.jpg"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        if path.endswith("gone.jpg"):
            raise FileNotFoundError(errno.ENOENT, "No such file", path)
        return "same" if path.endswith(("moved.jpg", "touched.jpg")) else path

    states = {
        "/p/touched.jpg": FileState(
            1, FileStamp("/p/touched.jpg", 1, 1, "same"), STATUS_OK
        ),
        "/p/changed.jpg": FileState(
            2, FileStamp("/p/changed.jpg", 1, 1, "before"), STATUS_OK
        ),
        "/p/kept.jpg": FileState(3, FileStamp("/p/kept.jpg", 5, 5, "kept"), STATUS_OK),
        "/p/old-name.jpg": FileState(
            4, FileStamp("/p/old-name.jpg", 9, 9, "same"), STATUS_OK
        ),
    }
    new = [f"/p/new{i:03d}.jpg" for i in range(200)]
    scanned = [
        FileStamp("/p/touched.jpg", 1, 2),
        FileStamp("/p/changed.jpg", 2, 2),
        FileStamp("/p/kept.jpg", 5, 5),
        *(FileStamp(path, 3, 3) for path in new[:100]),
        FileStamp("/p/locked.jpg", 3, 3),
        FileStamp("/p/gone.jpg", 3, 3),
        FileStamp("/p/moved.jpg", 9, 9),
        *(FileStamp(path, 3, 3) for path in new[100:]),
    ]
    plan = make_plan(states, scanned, hasher, find_copies=lambda hashes: {})

    assert [w.entry.path for w in plan.encode] == ["/p/changed.jpg", *new]
    assert [w.content_hash for w in plan.encode[1:]] == new
    assert plan.encode[0].replaces and not plan.encode[1].replaces
    assert [(i, e.path) for i, e in plan.touches] == [(1, "/p/touched.jpg")]
    assert [(i, e.path) for i, e in plan.moves] == [(4, "/p/moved.jpg")]
    assert [(f.path, f.error) for f in plan.unreadable] == [
        ("/p/locked.jpg", "cannot read: Permission denied")
    ]
    assert plan.unchanged == 1
    assert plan.removals == []
