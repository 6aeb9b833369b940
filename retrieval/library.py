"""A library opened for use: its store, the model its vectors belong to, its vector index."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar, cast

import numpy as np

from retrieval.errors import ModelMismatchError
from retrieval.index.ids import best_per_photo
from retrieval.index.sync import (
    IndexPolicy,
    catch_up,
    exact_search,
    open_index,
    rebuild,
    save_index,
)
from retrieval.index.vector_index import VectorIndex
from retrieval.model.factory import choose_encoder, resolve_model
from retrieval.model.onnx.fallback import ensure_exported
from retrieval.model.protocol import Encoder
from retrieval.model.thread import ModelThread, SerialEncoder
from retrieval.records import FloatArray, IdArray, ModelInfo
from retrieval.settings import DEFAULT_MODEL, Settings
from retrieval.store.quick import QuickStore

if TYPE_CHECKING:
    from retrieval.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")


def choose_model(
    settings: Settings,
    recorded: ModelInfo | None,
    *,
    reencode: bool,
    empty: bool = False,
) -> ModelInfo:
    """The model to use: the one asked for, else the library's own, else the default.

    Asking for another model than the library's is an error unless re-encoding or the
    library holds no vectors yet, since vectors of two models cannot be compared.
    """
    if settings.model is None and settings.pretrained is None:
        if recorded is not None:
            return recorded
        return resolve_model(DEFAULT_MODEL, None)
    name = settings.model or (recorded.name if recorded else DEFAULT_MODEL)
    pretrained = settings.pretrained
    if pretrained is None and recorded is not None and recorded.name == name:
        pretrained = recorded.pretrained
    if recorded is not None and _same_as_recorded(name, pretrained, recorded):
        # Checking a name against open_clip's lists imports it (seconds); the library's
        # own model was checked when it was recorded.
        return recorded
    wanted = resolve_model(name, pretrained)
    if recorded is not None and wanted != recorded and not (reencode or empty):
        raise ModelMismatchError(
            f"this library was built with {recorded.describe()}, not {wanted.describe()}: "
            "drop --model/--pretrained to use the library's model, or run "
            "`photosearch index --reencode` with the new model to re-encode every image"
        )
    return wanted


def _same_as_recorded(name: str, pretrained: str | None, recorded: ModelInfo) -> bool:
    if name != recorded.name or pretrained is None:
        return False
    if pretrained == recorded.pretrained:
        return True
    # A weights file is recorded by its resolved path.
    candidate = Path(pretrained).expanduser()
    return candidate.is_file() and str(candidate.resolve()) == recorded.pretrained


@dataclass
class Library:
    store: Store
    settings: Settings
    model: ModelInfo
    encoder: Encoder
    _index: VectorIndex | None = field(default=None, repr=False)
    # Every model call of this library runs here, whichever thread asks (see ModelThread).
    model_thread: ModelThread = field(default_factory=ModelThread, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, SerialEncoder):
            self.encoder = SerialEncoder(self.encoder, self.model_thread)

    def on_model_thread(self, work: Callable[[Library], T]) -> T:
        """`work(self)` on the model thread: a query's whole model work in one go."""
        return self.model_thread.run(work, self)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        create: bool = False,
        reencode: bool = False,
        writer: bool = True,
        cold: bool = False,
    ) -> Library:
        """`cold`: a process that answers a query or two and exits (the command line
        without a daemon): its model runs from the library's ONNX export when there is
        one, without importing torch (retrieval.model.onnx.fallback), and a plain search reads
        the database without importing SQLAlchemy (retrieval.store.quick)."""
        # The quick reader is SQLite's; a server library opens the full store.
        quick = (
            QuickStore.open(settings.library)
            if cold and not create and settings.database is None
            else None
        )
        if quick is not None:
            # Answers as a Store does; the full one opens behind it on first need.
            store = cast("Store", quick)
        else:
            from retrieval.store import Store

            store = Store.open(
                settings.library, create=create, database=settings.database
            )
        try:
            # Counting a large library's rows takes a cold query's tenth of a second:
            # only a model asked for by name needs to know whether any vectors exist.
            asked = settings.model is not None or settings.pretrained is not None
            model = choose_model(
                settings,
                store.model_info(),
                reencode=reencode,
                empty=asked and store.counts()["vectors"] == 0,
            )
            encoder = choose_encoder(settings, model, store.root, cold=cold)
        except BaseException:
            store.close()
            raise
        return cls(store, settings, model, encoder, writer=writer)

    # Guards the in-memory index: a daemon's writer thread and its query thread share it.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # Whether this process writes vectors (index, watch, tag). Readers (serve, search)
    # follow the writer through the change log and never write the index file.
    writer: bool = True
    # The index and generation last written to the file by `save_index`.
    _saved: tuple[int, int] | None = field(default=None, repr=False)
    # Whether `record_model` found the model recorded.
    _recorded: bool = field(default=False, repr=False)

    @property
    def index(self) -> VectorIndex:
        with self._lock:
            if self._index is None:
                self._index = open_index(
                    self.store, self.model.dim, self.policy, save=self.writer
                )
            return self._index

    @property
    def policy(self) -> IndexPolicy:
        return IndexPolicy.from_settings(self.settings)

    def refresh_index_type(self) -> None:
        """Rebuild the index if the library outgrew (or shrank below) its type, or its IVF
        training. The rebuild reads the store without holding the lock, so queries go on
        meanwhile."""
        with self._lock:
            index = self._index
        if index is None or not self.policy.needs_rebuild(index):
            return
        wanted = self.policy.kind_for(len(index), self.model.dim)
        log.info(
            "library has %d vectors: rebuilding the index as %s", len(index), wanted
        )
        fresh = rebuild(self.store, self.model.dim, self.policy)
        with self._lock:
            # Swap only if nothing was written meanwhile; otherwise the next run retries.
            if self._index is index and fresh.generation == index.generation:
                self._index = fresh

    def reload_if_stale(self) -> None:
        """Bring the loaded index up to what another process (a watch daemon) committed
        since: the logged changes are applied, O(changes); an index too far behind for the
        log is dropped and loaded afresh on next use. A writer mirrors its own changes with
        `apply`."""
        with self._lock:
            index = self._index
            if index is None or index.generation == self.store.generation():
                return
            if not catch_up(self.store, index):
                self._index = None

    def search_index(
        self, vector: FloatArray, k: int, allowed: IdArray | None = None
    ) -> tuple[FloatArray, IdArray]:
        """The top `k` (scores, ids) of the loaded index, safe against a concurrent writer;
        only `allowed` ids if given. Filtered search is exact: an approximate index with a
        filter would search the buckets tuned for the whole library and miss most of a
        small subset, so a small subset is scored from its stored vectors and a large one
        searched with as many more buckets as the filter is selective."""
        with self._lock:
            index = self.index
            if len(index) == 0:
                return np.zeros((1, 0), dtype=np.float32), np.zeros(
                    (1, 0), dtype=np.int64
                )
            if (
                allowed is not None
                and index.kind != "flat"
                and len(allowed) <= self.settings.exact_filter_max
            ):
                return exact_search(self.store, index.dim, vector, k, allowed)
            views = index.entry_ids(allowed) if allowed is not None else None
            # An item comes back once per view or moment: ask for enough entries that k
            # of them remain, more only when views or a long video crowded them out.
            fetch = 3 * k
            while True:
                if views is None or index.kind == "flat":
                    scores, ids = index.search(vector, fetch, views)
                else:
                    scores, ids = index.search_filtered(vector, fetch, views)
                photos = best_per_photo(scores[0], ids[0], k)
                if (
                    (photos[1] >= 0).sum() >= min(k, len(index))
                    or (ids[0] >= 0).sum() < fetch
                    or fetch >= len(index)
                ):
                    break
                fetch *= 4
            return photos

    def apply(
        self,
        remove: Sequence[int],
        add: Sequence[int],
        vectors: FloatArray,
        generation: int | None,
    ) -> None:
        """Mirror in the loaded index a change this process just committed to the store,
        which made `generation` (None: nothing changed)."""
        if generation is None:
            return
        with self._lock:
            index = self._index
            if index is None:
                return
            if index.generation != generation - 1:
                # Another process changed the vectors as well: follow the log, which
                # has this change too.
                if not catch_up(self.store, index):
                    self._index = None
                return
            index.remove(list(remove))
            index.add(np.asarray(add, dtype=np.int64), vectors)
            index.generation = generation

    def export_towers_if_missing(self, *, wait: bool = False) -> None:
        """After indexing with the default engine: have the model's towers exported to
        ONNX if the machine has none yet, so that queries without a daemon run without
        torch; in the background unless `wait` or the `export` setting says to wait."""
        if self.settings.engine == "auto":
            background = self.settings.export == "background" and not wait
            self.on_model_thread(
                lambda lib: ensure_exported(
                    lib.encoder, lib.store.root, background=background
                )
            )

    def preload(self) -> None:
        """Start loading the model on its thread, without waiting for it (indexing
        scans and decodes meanwhile)."""
        preload = getattr(self.encoder, "preload", None)
        if preload is not None:
            preload()

    def record_model(self) -> None:
        """Before the first vector is written: the library's model recorded, once its
        weights are known to load (weights that cannot be had leave the library as it
        was), and the index loaded to mirror what is written. A different model
        recorded before drops its vectors (`Store.set_model`)."""
        if self._recorded:
            return
        if self.store.model_info() != self.model:
            self.encoder.load()
            self.store.set_model(self.model)
        _ = self.index
        self._recorded = True

    def export_text_tower_soon(self) -> Callable[[], None]:
        """While the first pass of indexing runs: the text tower exported by a thread of
        this process, once the model is loaded (seconds, once per model, by the quick
        tracer), so that the first query after the photos are searchable runs without
        torch; a background export, started later, would wait for the second pass's
        cores. The image tower follows (`export_towers_if_missing`). Returns a function
        that waits for it (and does nothing when no export is wanted)."""
        if self.settings.engine != "auto":
            return lambda: None
        # The tracer's warnings are noise to someone indexing photos. A filter of the
        # whole process, set before the decode threads start: `catch_warnings`, which
        # they use, saves and restores the process's filters, and would drop one that
        # this thread set meanwhile.
        warnings.filterwarnings("ignore", module="torch")

        def export() -> None:
            try:
                # Behind the load that indexing started on the model thread.
                self.encoder.load()
                ensure_exported(
                    self.encoder, self.store.root, background=False, quick=True
                )
            # Queries then run on torch until a later export: never worth failing the
            # indexing for.
            except Exception as exc:  # noqa: BLE001
                log.warning("could not export the text tower to ONNX: %s", exc)

        thread = threading.Thread(target=export, name="export-text", daemon=True)
        thread.start()
        return thread.join

    def save_index(self) -> None:
        """Write the loaded index to its file, unless it was written at this generation
        already (both passes of a run end with a save; a large index is gigabytes)."""
        with self._lock:
            index = self._index
            if index is not None and (id(index), index.generation) != self._saved:
                save_index(self.store, index)
                self._saved = (id(index), index.generation)

    def close(self) -> None:
        try:
            close_encoder = getattr(self.encoder, "close", None)
            if close_encoder is not None:
                close_encoder()
        finally:
            self.model_thread.close()
            self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
