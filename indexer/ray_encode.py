"""`index --ray`: decoding and encoding spread over the workers of a Ray cluster.

The driver (this process) scans, hashes and plans as ever, and writes every batch in one
transaction; only the encoding moves. Each worker is a Ray actor holding the model (one
per GPU, else one per `ray_worker_cpus` cores); it reads the batch's files itself, from
the path the driver knows them by (shared storage, the same mount on every node), and
sends back records (vectors and the analyzers' outcomes) or failures. A worker that dies takes nothing
with it: its batches go to the others (and a replacement starts where the cluster has
room), and since only the driver writes, what a crash leaves is what a local run's crash
leaves: whole batches, found unchanged by the next run.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from indexer.encode import Encoding, Written
from indexer.plan import Work

if TYPE_CHECKING:
    from indexer.analyzers.backfill import Due
    from retrieval.library import Library
from retrieval.errors import LibraryError, PhotosearchError, UsageError, first_line
from retrieval.records import Analyzed, EncodedFile, FailedFile, ModelInfo
from retrieval.settings import Settings

log = logging.getLogger(__name__)

# Batches each worker holds at once: one encoding, one waiting (its files read meanwhile).
IN_FLIGHT = 2
# How long the run waits for a worker to replace the last one that died.
REPLACE_WAIT_S = 60.0


def _check_reachable(address: str) -> None:
    """Ray waits minutes for a head that is not there; a closed port is said at once."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise _unreachable(address, exc.strerror or str(exc)) from None


def _unreachable(address: str, reason: str) -> LibraryError:
    return LibraryError(
        f"cannot reach the Ray cluster at {address}: {reason}; start one with `ray "
        "start --head` and pass the address it prints, or use --ray without an "
        "address for one on this machine"
    )


class _Worker:
    """A Ray actor: the model, loaded once, and threads to read files with."""

    def __init__(
        self,
        settings: Settings,
        info: ModelInfo,
        root: str,
        batch_size: int,
        analyzers: list[str],
    ) -> None:
        import ray

        from indexer.analyzers.base import first_pass
        from indexer.analyzers.registry import by_name
        from retrieval.model.factory import choose_encoder

        encoder = choose_encoder(settings, info, Path(root), cold=False)
        # Exactly the analyzers the driver runs: any other would record what the driver
        # was not asked for, and one it lacked would be missing.
        self.analyzers = by_name(analyzers, settings, encoder)
        self.encoding = Encoding(
            settings, encoder, batch_size, first_pass(self.analyzers)
        )
        self.max_pixels = settings.max_pixels
        cores = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        self.readers = ThreadPoolExecutor(
            max_workers=settings.decode_workers or max(1, int(cores))
        )
        # The actor takes IN_FLIGHT calls at once, so that one batch's files are read
        # while another's go through the model; the model itself takes one at a time.
        self.model = threading.Lock()

    def pid(self) -> int:
        return os.getpid()

    def warm(self) -> int:
        """Load the model now (else the first batch does); the model's input size."""
        return self.encoding.tile_side

    def photos(self, works: list[Work]) -> Written:
        decoded = list(self.readers.map(self.encoding.decode, works))
        with self.model:
            return self.encoding.photos(decoded)

    def analyse(self, items: list[Due]) -> list[tuple[int, Analyzed]]:
        """The second pass on a batch: its files read by the reader threads, then
        each analyzer's records (the driver writes them)."""
        from indexer.analyzers.backfill import combined, prepared_for
        from indexer.analyzers.base import analyze_all

        prepared = list(
            self.readers.map(
                lambda item: prepared_for(item, self.analyzers, self.max_pixels), items
            )
        )
        present = [p for p in prepared if p]
        with self.model:
            each = [analyze_all([a], present) for a in self.analyzers]
        return combined(items, prepared, each)

    def videos(self, works: list[Work]) -> Written:
        records: list[EncodedFile] = []
        failures: list[FailedFile] = []

        def keep(done: list[EncodedFile], bad: list[FailedFile]) -> None:
            records.extend(done)
            failures.extend(bad)

        with self.model:
            self.encoding.videos(works, keep)
        return records, failures


_Task = tuple[str, list[Any]]  # the worker's method, its files (or photos due)


class RayEncoding:
    """The cluster's workers for one indexing run (a context manager: leaving it stops
    the workers, and a cluster started for the run)."""

    def __init__(
        self,
        settings: Settings,
        info: ModelInfo,
        root: Path,
        batch_size: int,
        analyzers: Sequence[str] = (),
    ) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError(
                "--ray needs Ray: pip install 'photosearch[ray]' (or leave out --ray)"
            ) from None
        self.ray = ray
        self.batch_size = batch_size
        address = None if settings.ray in (None, "local") else settings.ray
        if address is not None:
            _check_reachable(address)
        try:
            ray.init(
                address=address or "local",
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                configure_logging=False,
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise _unreachable(str(address), first_line(exc)) from None
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        cores = int(resources.get("CPU", 1))
        if gpus:
            self.per_worker: dict[str, float] = {"num_gpus": 1, "num_cpus": 1}
            count = gpus
        else:
            cpus = min(settings.ray_worker_cpus, cores)
            self.per_worker = {"num_cpus": cpus}
            count = max(1, cores // cpus)
        self.actor_class = ray.remote(_Worker)
        self.args = (settings, info, str(root), batch_size, list(analyzers))
        self.workers: list[Any] = []
        # Each worker's process id, asked first thing (its calls run in order).
        self.pids: dict[Any, Any] = {}
        # Deaths the run tolerates: a worker that cannot start would otherwise be
        # replaced forever.
        self.lives = 2 * count + 2
        for _ in range(count):
            self._start_worker()
        log.info(
            "Ray: %d workers (%s each) on %d nodes",
            count,
            ", ".join(f"{v} {k[4:]}" for k, v in self.per_worker.items()),
            len([n for n in ray.nodes() if n.get("Alive")]),
        )

    def _start_worker(self) -> None:
        # A dead worker is not restarted by Ray: its batches go to the others (`_lost`).
        worker = self.actor_class.options(
            max_restarts=0,
            max_task_retries=0,
            max_concurrency=IN_FLIGHT,
            **self.per_worker,
        ).remote(*self.args)
        self.workers.append(worker)
        self.pids[worker] = worker.pid.remote()  # type: ignore[attr-defined]

    def _room(self) -> bool:
        """Whether the cluster has room for one more worker now."""
        free = self.ray.available_resources()
        names = {"num_cpus": "CPU", "num_gpus": "GPU"}
        return all(free.get(names[k], 0) >= v for k, v in self.per_worker.items())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for worker in self.workers:
            self.ray.kill(worker)
        self.ray.shutdown()

    def photos(
        self, works: Sequence[Work]
    ) -> Iterator[tuple[Sequence[Work], list[EncodedFile], list[FailedFile]]]:
        """Batches as they come back, in any order, each with its files."""
        tasks: list[_Task] = [
            ("photos", list(works[i : i + self.batch_size]))
            for i in range(0, len(works), self.batch_size)
        ]
        for (_, batch), (records, bad) in self._run(tasks):
            yield batch, records, bad

    def analysed(
        self, batches: Sequence[list[Due]]
    ) -> Iterator[tuple[list[Due], list[tuple[int, Analyzed]]]]:
        """The second pass's batches, each analysed by a worker, as they come back."""
        for (_, batch), rows in self._run([("analyse", b) for b in batches]):
            yield batch, rows

    def videos(
        self,
        works: Sequence[Work],
        write: Callable[[list[EncodedFile], list[FailedFile]], None],
        *,
        stop: Callable[[], bool] | None = None,
        bar: Any = None,
    ) -> int:
        """Each video to one worker; `write`, `stop` and `bar` as for a local run."""
        encoded = 0
        for _, (records, bad) in self._run([("videos", [w]) for w in works]):
            write(records, bad)
            encoded += len(records)
            if bar is not None:
                bar.update(sum(r.duration or 0.0 for r in records))
            if stop is not None and stop():
                break
        return encoded

    def _run(self, tasks: list[_Task]) -> Iterator[tuple[_Task, Any]]:
        ray = self.ray
        queue = deque(tasks)
        pending: dict[Any, tuple[Any, _Task]] = {}
        done = 0
        # Leaving early (stop) leaves batches in the workers; `__exit__` ends them.
        while queue or pending:
            self._submit(queue, pending)
            if not pending:
                self._replace_lost()
                continue
            ready, _ = ray.wait(list(pending), num_returns=1)
            worker, task = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayActorError as exc:
                self._lost(worker, exc)
                queue.appendleft(task)
                continue
            except ray.exceptions.RayTaskError as exc:
                # What the worker raised, as if raised here: a model that cannot be
                # loaded says so in one line, as it would locally.
                if isinstance(exc.cause, PhotosearchError):
                    raise exc.cause from None
                raise
            yield task, result
            done += 1
            self._fault(done, pending)

    def _submit(
        self, queue: deque[_Task], pending: dict[Any, tuple[Any, _Task]]
    ) -> None:
        busy = {w: 0 for w in self.workers}
        for worker, _ in pending.values():
            busy[worker] = busy.get(worker, 0) + 1
        for worker in self.workers:
            while queue and busy[worker] < IN_FLIGHT:
                task = queue.popleft()
                pending[getattr(worker, task[0]).remote(task[1])] = (worker, task)
                busy[worker] += 1

    def _lost(self, worker: Any, exc: BaseException) -> None:
        """A worker died: its batches go back to the queue; a replacement is started
        if the cluster has room for one now (a dead node's room is gone)."""
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        self.lives -= 1
        if self.lives < 0:
            raise LibraryError(
                f"Ray workers keep dying ({first_line(exc)}): check the nodes (`ray "
                "status`) and that each has photosearch installed, then run index "
                "again to go on where this run stopped"
            )
        log.warning(
            "a Ray worker died (%s); its batches go to the %d others",
            first_line(exc),
            len(self.workers),
        )
        if self._room():
            self._start_worker()

    def _replace_lost(self) -> None:
        """Every worker died: wait a while for the cluster to have room for one."""
        deadline = time.monotonic() + REPLACE_WAIT_S
        while time.monotonic() < deadline:
            if self._room():
                self._start_worker()
                return
            time.sleep(1.0)
        raise LibraryError(
            "every Ray worker died and the cluster has no room for another: check the "
            "nodes (`ray status`), then run index again to go on where this run stopped"
        )

    def _fault(self, done: int, pending: dict[Any, tuple[Any, _Task]]) -> None:
        """Tests: `PHOTOSEARCH_KILL_RAY_WORKER_AT=N` kills, with SIGKILL, a worker that
        holds batches once N batches are back (on this machine's cluster only)."""
        wanted = os.environ.get("PHOTOSEARCH_KILL_RAY_WORKER_AT")
        if not wanted or done != int(wanted) or not pending:
            return
        worker = next(iter(pending.values()))[0]
        pid = self.ray.get(self.pids[worker])
        log.warning(
            "killing Ray worker %d, as PHOTOSEARCH_KILL_RAY_WORKER_AT asks", pid
        )
        os.kill(pid, signal.SIGKILL)


class Cluster:
    """The Ray cluster of a run, started at its first use by either pass (a run with
    nothing to encode or analyse starts none) and stopped by `close`."""

    def __init__(self, library: Library, analyzers: Sequence[str]) -> None:
        self.library = library
        self.analyzers = list(analyzers)
        self._encoding: RayEncoding | None = None

    def get(self, batch_size: int) -> RayEncoding:
        if self._encoding is None:
            library = self.library
            self._encoding = RayEncoding(
                library.settings,
                library.model,
                library.store.root,
                batch_size,
                self.analyzers,
            )
        return self._encoding

    def close(self) -> None:
        if self._encoding is not None:
            self._encoding.__exit__(None, None, None)
            self._encoding = None
