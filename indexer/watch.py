"""The watch daemon: reconcile once, then follow file-system events.

Event callbacks only record paths under a condition variable; one worker waits until the
events have been quiet for the debounce period, then indexes the pending paths in batches.
A file still being written (modified within the debounce period) waits for a later round.

New arrivals get the first pass of indexing (searchable) before anything else; the second
pass (views, faces, text) runs whenever no arrival is waiting, newest photos first, and
gives way to the next arrivals between its batches.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from indexer.analyzers.backfill import SecondPass
from indexer.analyzers.base import finish_all
from indexer.analyzers.metadata import sidecars_changed
from indexer.analyzers.registry import enabled
from indexer.daemon_lock import write_status
from indexer.pipeline import IndexSummary, index_changes, index_folders
from indexer.roots import classify
from indexer.scan import inside
from retrieval.library import Library
from retrieval.metadata.model import METADATA_ANALYZER
from retrieval.metadata.sidecars import is_sidecar
from retrieval.settings import Settings

log = logging.getLogger(__name__)

# The longest the second pass runs before the daemon forms persons and writes its status.
CATCH_UP_ROUND_S = 30.0


@dataclass(frozen=True)
class WatchOptions:
    debounce: float = 1.0  # seconds of quiet before pending changes are indexed
    poll: bool = False  # polling observer, for network drives and mounted volumes
    poll_interval: float = 2.0
    # A full reconciliation now and then catches events the kernel dropped.
    rescan_interval: float = 3600.0
    # How often the roots are looked at: an unplugged drive is noticed (and its files
    # kept), a drive plugged back in is reconciled.
    root_check_interval: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WatchOptions:
        return cls(
            debounce=settings.debounce,
            poll=settings.poll,
            rescan_interval=settings.rescan_interval,
            root_check_interval=settings.root_check_interval,
        )


class _Pending(FileSystemEventHandler):
    """Collects changed paths; called from the observer's thread."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.paths: dict[str, float] = {}  # path -> when it was last seen changing
        self.last_event = 0.0

    def add(self, *paths: str) -> None:
        now = time.monotonic()
        with self.cond:
            for path in paths:
                self.paths[path] = now
            self.last_event = now
            self.cond.notify_all()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory and event.event_type == "modified":
            return  # a folder's mtime changes with every file in it: the files tell us more
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [os.fsdecode(event.src_path)]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(os.fsdecode(dest))
        self.add(*paths)


def _observer(options: WatchOptions) -> BaseObserver:
    if options.poll:
        return PollingObserver(timeout=options.poll_interval)
    return Observer()


class Service(Protocol):
    """Something the daemon runs beside its indexing while it runs, such as the query
    server of the warm path (photosearch.warm.server): started after the observer, stopped
    when the daemon stops."""

    def start(self) -> bool:
        """Whether it started (False: it said why, and the daemon goes on without it)."""
        ...

    def stop(self) -> None: ...


class Watcher:
    def __init__(
        self,
        library: Library,
        roots: Sequence[str],
        options: WatchOptions,
        services: Sequence[Service] = (),
    ) -> None:
        self.library = library
        self.services = list(services)
        self.analyzers = enabled(library.settings, library.encoder)
        self.second = SecondPass(library, [])  # made of `analyzers` as it runs
        # Not checked here: a root that is offline now is waited for (see _check_roots).
        self.roots = [os.path.abspath(os.path.expanduser(r)) for r in roots]
        self.options = options
        self.online: set[str] = set()
        self._watches: dict[str, ObservedWatch] = {}
        self.pending = _Pending()
        self.stop_event = threading.Event()
        self.observer: BaseObserver | None = None
        self.last_activity: float | None = None
        self.batches = 0
        # Whether the second pass found nothing due when it last ran.
        self.caught_up = False

    def stop(self) -> None:
        """Ask the daemon to stop after the batch in flight; safe from a signal handler."""
        self.stop_event.set()
        with self.pending.cond:
            self.pending.cond.notify_all()

    def _start_observer(self) -> None:
        observer = _observer(self.options)
        try:
            observer.start()
            for root in self.online:
                self._watches[root] = observer.schedule(
                    self.pending, root, recursive=True
                )
        except OSError as exc:
            if self.options.poll:
                raise
            # inotify watches can run out (or be missing on network file systems).
            log.warning("native file events unavailable (%s): polling instead", exc)
            observer.stop()
            observer = PollingObserver(timeout=self.options.poll_interval)
            observer.start()
            for root in self.online:
                self._watches[root] = observer.schedule(
                    self.pending, root, recursive=True
                )
        self.observer = observer

    def _check_roots(self) -> None:
        """Follow roots going offline (their events stop being followed, nothing under
        them is removed) and coming back (watched again, then reconciled: files changed
        meanwhile are found, files that came back keep their ids)."""
        roots = classify(self.library.store, self.roots, strict=False)
        now_online = set(roots.online)
        gone, back = self.online - now_online, now_online - self.online
        self.online = now_online
        observer = self.observer
        for root in gone:
            watch = self._watches.pop(root, None)
            if watch is not None and observer is not None:
                try:
                    observer.unschedule(watch)
                except (KeyError, OSError):
                    pass  # the watch died with the mount
            with self.pending.cond:
                self.pending.paths = {
                    p: t for p, t in self.pending.paths.items() if not inside(p, [root])
                }
        for root in sorted(back):
            log.info("%s is online: reconciling it", root)
            if observer is not None:
                try:
                    self._watches[root] = observer.schedule(
                        self.pending, root, recursive=True
                    )
                except OSError as exc:
                    log.warning("cannot watch %s (%s): rescans only", root, exc)
            summary = index_folders(
                self.library,
                [root],
                stop=self.stop_event.is_set,
                strict=False,
                analyzers=self.analyzers,
                catch_up=False,
            )
            self._log(f"{root} back online", summary)
            self.caught_up = False

    def _status(self, state: str) -> None:
        with self.pending.cond:
            queue = len(self.pending.paths)
        write_status(
            self.library.store.root,
            pid=os.getpid(),
            state=state,
            roots=self.roots,
            queue=queue,
            batches=self.batches,
            last_activity=self.last_activity,
        )

    def _log(self, what: str, summary: IndexSummary) -> None:
        self.batches += 1
        self.last_activity = time.time()
        log.info("%s: %s", what, summary.line())

    def _take_ready(self, deadline: float) -> list[str]:
        """Wait for a quiet period, then take the pending paths whose files have settled;
        [] if none are ready by `deadline` (monotonic)."""
        debounce = self.options.debounce
        with self.pending.cond:
            while not self.stop_event.is_set():
                if time.monotonic() >= deadline and not self.pending.paths:
                    return []
                if self.pending.paths:
                    quiet = time.monotonic() - self.pending.last_event
                    if quiet >= debounce:
                        break
                    self.pending.cond.wait(debounce - quiet)
                else:
                    self.pending.cond.wait(0.5)
            if self.stop_event.is_set():
                return []
            ready, waiting = [], {}
            now_wall = time.time()
            for path, seen in self.pending.paths.items():
                try:
                    mtime = os.stat(path).st_mtime
                except OSError:
                    mtime = 0.0  # gone: nothing to wait for
                if now_wall - mtime < debounce:
                    waiting[path] = seen  # still being written
                else:
                    ready.append(path)
            self.pending.paths = waiting
            if waiting and not ready:
                self.pending.last_event = time.monotonic()
            return ready

    def _arrivals(self) -> bool:
        """Whether changed paths wait, settled (the second pass gives way to them)."""
        with self.pending.cond:
            return bool(self.pending.paths) and (
                time.monotonic() - self.pending.last_event >= self.options.debounce
            )

    def _catch_up(self) -> bool:
        """The second pass until nothing is due, arrivals wait, or a while has passed
        (persons formed and the status written now and then): whether nothing is due."""
        before = self.second.done
        try:
            done = self.second.run(
                stop=self.stop_event.is_set,
                pause=self._arrivals,
                until=time.monotonic() + CATCH_UP_ROUND_S,
            )
        except Exception:  # the daemon outlives any one batch; the next rescan retries
            log.exception("analysing photos failed")
            return True
        count = self.second.done - before
        if count:
            self.last_activity = time.time()
            log.info("analysed %d photos (views, faces, text)", count)
            finish_all(self.analyzers, self.library)
        return done

    def _sidecars(self, ready: list[str]) -> int:
        """The photos beside changed sidecars made due for the metadata analyzer (the
        catch-up reads them, nothing decoded): how many."""
        if not any(a.name == METADATA_ANALYZER for a in self.analyzers):
            return 0
        folders = {os.path.dirname(p) for p in ready if is_sidecar(p)}
        return sum(sidecars_changed(self.library, folder) for folder in folders)

    def run(self) -> None:
        """Reconcile, then follow events until `stop()`; returns after a clean shutdown."""
        self._status("reconciling")
        self.second = SecondPass(self.library, self.analyzers)
        self.online = set(classify(self.library.store, self.roots, strict=False).online)
        self._start_observer()  # first, so that nothing changed during the scan is missed
        started = [service for service in self.services if service.start()]
        if started:
            _ = self.library.encoder.logit_scale  # the model now: queries come warm
        # The catch-up of photos an analyzer has not looked at comes after, a batch at
        # a time between rounds of changes: new arrivals first.
        summary = index_folders(
            self.library,
            self.roots,
            stop=self.stop_event.is_set,
            strict=False,
            analyzers=self.analyzers,
            catch_up=False,
        )
        self._log("reconciled", summary)
        self.caught_up = False
        self._status("watching")
        next_rescan = time.monotonic() + self.options.rescan_interval
        next_root_check = time.monotonic() + self.options.root_check_interval
        try:
            while not self.stop_event.is_set():
                if time.monotonic() >= next_root_check:
                    try:
                        self._check_roots()
                    except Exception:  # the daemon outlives a root it cannot follow
                        log.exception("checking the watched folders failed")
                    self._status("watching")
                    next_root_check = (
                        time.monotonic() + self.options.root_check_interval
                    )
                # With photos to catch up on, only events already waiting come first.
                ready = self._take_ready(
                    deadline=next_root_check if self.caught_up else time.monotonic()
                )
                if not ready and not self.caught_up:
                    self.caught_up = self._catch_up()
                    self._status("watching")
                    continue
                if ready:
                    try:
                        summary = index_changes(
                            self.library,
                            self.roots,
                            ready,
                            stop=self.stop_event.is_set,
                            analyzers=self.analyzers,
                        )
                    except Exception:  # the daemon outlives any one batch
                        # The batch was rolled back; the next full rescan retries it.
                        log.exception("batch of %d changed paths failed", len(ready))
                        next_rescan = min(next_rescan, time.monotonic() + 60)
                        continue
                    self._log(f"{len(ready)} changed paths", summary)
                    # The arrivals' second pass, and the photos of changed sidecars.
                    self._sidecars(ready)
                    self.caught_up = False
                    self._status("watching")
                if time.monotonic() >= next_rescan and not self.stop_event.is_set():
                    summary = index_folders(
                        self.library,
                        self.roots,
                        stop=self.stop_event.is_set,
                        strict=False,
                        analyzers=self.analyzers,
                        catch_up=False,
                    )
                    self._log("rescanned", summary)
                    self.caught_up = False
                    next_rescan = time.monotonic() + self.options.rescan_interval
        finally:
            for service in started:
                service.stop()
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(timeout=5)
            self.library.save_index()
