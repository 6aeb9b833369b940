"""One indexing run: scan folders, compare with the library, then two passes. The first
decodes and encodes what is new or changed in batches, with the analyzers that need no
pixels, each batch written in one transaction: every photo is searchable when it ends.
The second (indexer.analyzers.backfill) looks again at the photos some analyzer has not
seen (the views of wide photos, faces, text), newest first."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from indexer.analyzers.backfill import Alongside, Progress, backfill
from indexer.analyzers.base import Analyzer, finish_all, first_pass
from indexer.analyzers.metadata import sidecars_changed
from indexer.analyzers.registry import enabled
from indexer.apply import Applied, apply_plan
from indexer.hashing import content_hash
from indexer.plan import Plan, make_plan
from indexer.roots import classify
from indexer.scan import file_entry, inside, walk
from retrieval.library import Library
from retrieval.media.video.probe import is_video
from retrieval.metadata.model import METADATA_ANALYZER
from retrieval.records import (
    FileStamp,
    FileState,
)

if TYPE_CHECKING:
    from indexer.ray_encode import Cluster

log = logging.getLogger(__name__)

_Found = TypeVar("_Found", dict[str, FileState], list[FileStamp])


@dataclass(frozen=True)
class IndexSummary:
    added: int
    updated: int
    moved: int
    restored: int  # back from the trash, with their vectors and tags
    removed: int  # moved to the trash
    failed: int
    unchanged: int
    encoded: int  # images that went through the model (copies and moves do not)

    @classmethod
    def of(cls, plan: Plan, applied: Applied) -> IndexSummary:
        return cls(
            added=applied.added,
            updated=applied.updated,
            moved=len(plan.moves),
            restored=len(plan.restores),
            removed=len(plan.removals),
            failed=applied.failed,
            unchanged=plan.unchanged + len(plan.touches),
            encoded=applied.encoded,
        )

    def line(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, moved {self.moved}, "
            f"removed {self.removed}, failed {self.failed}, unchanged {self.unchanged}"
            + (f", restored {self.restored}" if self.restored else "")
        )


def scan(roots: Sequence[str]) -> list[FileStamp]:
    return [entry for root in roots for entry in walk(root)]


def index_folders(
    library: Library,
    roots: Sequence[str],
    *,
    reencode: bool = False,
    progress: bool = False,
    stop: Callable[[], bool] | None = None,
    hasher: Callable[[str], str] = content_hash,
    strict: bool = True,
    analyzers: Sequence[Analyzer] | None = None,
    catch_up: bool = True,
    searchable: Callable[[IndexSummary], None] | None = None,
    second: Progress | None = None,
) -> IndexSummary:
    """Bring the library up to date with `roots`. A root that is offline (see
    `indexer.roots`) is left as it is; with `strict`, a missing root under which the
    library holds nothing is an error (the daemon is not strict: it waits for it).
    `analyzers`: those besides CLIP (default: the ones the settings enable).

    The first pass makes every photo searchable, then `searchable` is told how it went.
    With `catch_up`, the second pass follows: every photo some analyzer has not looked
    at, newest first (`second` is told how far it got); without, only the analyzers
    that need no pixels catch up (the daemon runs the rest a batch at a time, between
    its rounds of changes). Then, files trashed more than `trash_days` ago go for good."""
    store = library.store
    available = classify(
        store, [os.path.abspath(os.path.expanduser(r)) for r in roots], strict=strict
    )
    folders = available.online
    recorded = store.model_info()
    if recorded is not None and recorded != library.model:
        # Another model's vectors go before any plan is made: every photo is encoded
        # again (a new library records its model with its first vectors).
        library.record_model()
    plan = _plan(library, folders, reencode, hasher)
    chosen = (
        enabled(library.settings, library.encoder)
        if analyzers is None
        else list(analyzers)
    )
    with _cluster(library, chosen) as cluster:
        # With the model on a GPU, the second pass runs on the CPU's cores meanwhile
        # (which device it is on is known once it has loaded).
        beside = (
            Alongside(
                library,
                chosen,
                stop=stop,
                progress=second,
                wanted=lambda: overlaps(library),
            )
            if catch_up and plan.encode
            else None
        )
        try:
            summary = _first_pass(
                library,
                plan,
                chosen,
                folders,
                progress=progress,
                stop=stop,
                cluster=cluster,
                searchable=searchable,
            )
        finally:
            if beside is not None:
                beside.join()
        if catch_up and (stop is None or not stop()):
            backfill(library, chosen, stop=stop, progress=second, cluster=cluster)
    finish_all(chosen, library)
    library.save_index()
    days = library.settings.trash_days
    store.empty_trash(
        before=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    )
    return summary


def _first_pass(
    library: Library,
    plan: Plan,
    chosen: Sequence[Analyzer],
    folders: Sequence[str],
    *,
    progress: bool,
    stop: Callable[[], bool] | None,
    cluster: Cluster | None,
    searchable: Callable[[IndexSummary], None] | None,
) -> IndexSummary:
    """Every photo searchable: the plan carried out, each new photo's centre encoded
    with the analyzers that need no pixels, and those catching up; `searchable` told."""
    exported: Callable[[], None] = lambda: None
    if plan.encode:
        # The model loads on its thread while the files are decoded ahead, and the
        # text tower is exported meanwhile: the first query needs no torch.
        library.preload()
        exported = library.export_text_tower_soon()
    summary = IndexSummary.of(
        plan,
        apply_plan(
            library, plan, chosen, progress=progress, stop=stop, cluster=cluster
        ),
    )
    # Sidecars edited by another program since they were read: those photos are due
    # for the metadata analyzer again (no pixels needed).
    if any(a.name == METADATA_ANALYZER for a in chosen):
        for folder in folders:
            sidecars_changed(library, folder)
    if stop is None or not stop():
        # What needs no pixels belongs to being searchable (a keyword, a date).
        backfill(library, first_pass(chosen), stop=stop)
        # So does a query without torch.
        exported()
        if searchable is not None:
            searchable(summary)
    return summary


@contextmanager
def _cluster(library: Library, chosen: Sequence[Analyzer]) -> Iterator[Cluster | None]:
    """The Ray cluster both passes run on, when the settings name one (started on first
    need, stopped at the end)."""
    if library.settings.ray is None:
        yield None
        return
    from indexer.ray_encode import Cluster

    cluster = Cluster(library, [a.name for a in chosen])
    try:
        yield cluster
    finally:
        cluster.close()


def overlaps(library: Library) -> bool:
    """Whether the second pass runs while the first does: when the model is on a GPU
    (on a CPU the two would share the same cores, and the first is what makes the
    library searchable). Waits for the model to load."""
    library.encoder.load()
    return getattr(library.encoder, "device", "cpu") in ("cuda", "mps")


def _plan(
    library: Library,
    folders: Sequence[str],
    reencode: bool,
    hasher: Callable[[str], str],
) -> Plan:
    """What to do under `folders`: the files against the library's records."""
    store = library.store
    reencode_ids = set(store.ids_without_vector())
    states = _followed(library, store.file_states(under=folders))
    if reencode:
        reencode_ids |= {s.image_id for s in states.values() if s.status == "ok"}
    # Images outside these folders that lost their vector to a model change: encode them
    # too when their file is still there.
    outside = {
        s.path: s
        for s in store.file_states().values()
        if s.image_id in reencode_ids
        and s.path not in states
        and os.path.isfile(s.path)
    }
    states.update(outside)
    scanned = _followed(library, scan(folders)) + [
        FileStamp(s.path, s.size, s.mtime_ns) for s in outside.values()
    ]
    return make_plan(
        states,
        scanned,
        hasher,
        find_copies=store.images_with_hashes,
        reencode_ids=reencode_ids,
        find_trashed=partial(store.images_with_hashes, trashed=True),
    )


def _followed(library: Library, found: _Found) -> _Found:
    """What indexing looks at: with videos off (Settings.videos), photos only, and the
    videos the library has are left as they are, not taken for gone."""
    if library.settings.videos:
        return found
    if isinstance(found, dict):
        return {p: s for p, s in found.items() if not is_video(p)}
    return [e for e in found if not is_video(e.path)]


def _storable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        log.warning("skipping %r: its name is not valid UTF-8", path)
        return False
    return True


def index_changes(
    library: Library,
    roots: Sequence[str],
    changed: Iterable[str],
    *,
    stop: Callable[[], bool] | None = None,
    hasher: Callable[[str], str] = content_hash,
    analyzers: Sequence[Analyzer] | None = None,
) -> IndexSummary:
    """Bring the library up to date for these paths only: files or folders, present or
    gone (what the watcher saw change). A folder is rescanned whole. Moves between two of
    the paths keep their vectors, as in a full run."""
    store = library.store
    # Events under a root that just went offline (a drive unplugged) say "deleted" for
    # every file on it: they are not followed.
    online = classify(store, [os.path.abspath(r) for r in roots], strict=False).online
    scope = sorted(
        {os.path.abspath(p) for p in changed if inside(p, online) and _storable(p)}
    )
    # A path inside another one of the scope is covered by it.
    scope = [
        p
        for p in scope
        if not any(p.startswith(q.rstrip(os.sep) + os.sep) for q in scope)
    ]
    scanned: list[FileStamp] = []
    for path in scope:
        if os.path.isdir(path):
            scanned.extend(walk(path))
        else:
            entry = file_entry(path)
            if entry is not None:
                scanned.append(entry)
    states = _followed(library, store.file_states(under=scope) if scope else {})
    plan = make_plan(
        states,
        _followed(library, scanned),
        hasher,
        find_copies=store.images_with_hashes,
        find_trashed=partial(store.images_with_hashes, trashed=True),
    )
    chosen = (
        enabled(library.settings, library.encoder)
        if analyzers is None
        else list(analyzers)
    )
    # A round of changes is a few files: not worth a cluster's round trips. The first
    # pass only: the second follows as the daemon catches up.
    applied = apply_plan(library, plan, chosen, progress=False, stop=stop)
    summary = IndexSummary.of(plan, applied)
    if summary.added or summary.updated or summary.restored or summary.removed:
        finish_all(first_pass(chosen), library)
    return summary
