"""A thin FAISS wrapper: ids are the images' primary keys, vectors are unit length, so inner
product is cosine similarity. Saved atomically, with the store generation it reflects."""

from __future__ import annotations

import logging
import math
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from retrieval.errors import first_line
from retrieval.faults import checkpoint
from retrieval.types import FloatArray, IdArray
from retrieval.views import MOMENT_BASE, every_view_id, moment_counts, moment_ids

log = logging.getLogger(__name__)

INDEX_NAME = "index.faiss"
# The file is FAISS's own bytes, then this trailer: FAISS reads from the start of a file,
# so only a trailer lets it map the file instead of reading it (a cold query on a large
# library then touches only the pages its search visits).
_MAGIC = b"PSFAISS3"
# FAISS bytes, store generation, nprobe (0 for flat), vectors the IVF centroids were
# trained for, magic
_TRAILER = struct.Struct("<QQIQ8s")
# Before the trailer the same fields were a header; such files still load (fully read).
_OLD_MAGIC = b"PSFAISS2"
_OLD_HEADER = struct.Struct("<8sQIQ")
KINDS = ("flat", "ivf")
_TEMP_PREFIX = ".index-"  # then the writer's pid, "-", random, ".tmp"


class IndexFileError(Exception):
    """The saved index is missing, damaged or out of date; it is rebuilt from the store."""


@dataclass(frozen=True)
class _Saved:
    generation: int
    nprobe: int
    trained_for: int
    # Where FAISS's bytes are in the file.
    start: int
    length: int
    # Only a file with a trailer can be mapped (FAISS reads from offset 0).
    mappable: bool


def _read_layout(path: Path) -> _Saved:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(_OLD_HEADER.size)
            if size >= _TRAILER.size:
                f.seek(size - _TRAILER.size)
                tail = f.read(_TRAILER.size)
            else:
                tail = b""
    except FileNotFoundError:
        raise IndexFileError(f"{path} is missing") from None
    except OSError as exc:
        raise IndexFileError(f"{path} cannot be read: {exc.strerror}") from None
    if len(tail) == _TRAILER.size:
        length, generation, nprobe, trained_for, magic = _TRAILER.unpack(tail)
        if magic == _MAGIC:
            if length + _TRAILER.size != size:
                raise IndexFileError(f"{path} is truncated")
            return _Saved(generation, nprobe, trained_for, 0, length, True)
    if len(head) == _OLD_HEADER.size:
        magic, generation, nprobe, trained_for = _OLD_HEADER.unpack(head)
        if magic == _OLD_MAGIC:
            start = _OLD_HEADER.size
            return _Saved(generation, nprobe, trained_for, start, size - start, False)
    if size < _TRAILER.size:
        raise IndexFileError(f"{path} is truncated")
    raise IndexFileError(f"{path} is not a photosearch index")


def read_header(path: Path) -> tuple[int, int] | None:
    """(store generation, nprobe) of a saved index, without loading it; None if unreadable."""
    try:
        saved = _read_layout(path)
    except IndexFileError:
        return None
    return saved.generation, saved.nprobe


class VectorIndex:
    """Either exact ("flat": every vector compared) or approximate ("ivf": vectors bucketed
    around trained centroids, 8-bit scalar quantised, `nprobe` buckets searched).

    A flat index holds float16 codes: the store keeps vectors as float16, so float32 in
    the index would add bytes, not precision (scores are the same to the last bit), and
    half the bytes is half the memory and half the pages a cold query reads."""

    def __init__(
        self,
        dim: int,
        index: faiss.Index | None = None,
        generation: int = -1,
        nprobe: int = 0,
        trained_for: int = 0,
    ) -> None:
        self.dim = dim
        self.index = index if index is not None else _flat(dim)
        # The store generation whose vectors this index holds; -1 when unknown.
        self.generation = generation
        self.nprobe = nprobe
        # How many vectors the IVF centroids were trained for: far more means retrain.
        self.trained_for = trained_for
        # Searching straight from the mapped file, read-only (see `load`).
        self.mapped = False
        # Each video's number of moments besides its own id (retrieval.views), read from
        # the index's ids when first needed: what removing or filtering a video names.
        self._moments: dict[int, int] | None = None

    def _own(self) -> None:
        """Before a change: a mapped index is read-only (FAISS aborts the process when a
        mapped flat index is written to), so it becomes an ordinary copy in memory."""
        if not self.mapped:
            return
        if isinstance(self.index, faiss.IndexIVF):
            # Serialising an IVF index would name its mapped file, not copy the lists.
            mapped = self.index.invlists
            assert mapped is not None
            lists = faiss.ArrayInvertedLists(mapped.nlist, mapped.code_size)
            for bucket in range(mapped.nlist):
                size = mapped.list_size(bucket)
                if size:
                    lists.add_entries(
                        bucket, size, mapped.get_ids(bucket), mapped.get_codes(bucket)
                    )
            self.index.replace_invlists(lists, True)
            lists.this.disown()  # type: ignore[attr-defined]  # the index frees it now
        else:
            self.index = faiss.deserialize_index(faiss.serialize_index(self.index))
        self.mapped = False

    @classmethod
    def ivf(cls, dim: int, lists: int, training: FloatArray) -> VectorIndex:
        """An empty approximate index, its centroids trained on `training`."""
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer,
            dim,
            lists,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        index.train(np.ascontiguousarray(training, dtype=np.float32))
        return cls(dim, index, nprobe=1, trained_for=len(training))

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if (
            vectors.ndim != 2
            or vectors.shape[1] != self.dim
            or len(ids) != len(vectors)
        ):
            raise ValueError(
                f"expected {len(ids)} vectors of dimension {self.dim}, got shape {vectors.shape}"
            )
        if len(ids):
            self._own()
            self.index.add_with_ids(vectors, ids)
            if self._moments is not None and int(ids.max()) >= MOMENT_BASE:
                for video, count in moment_counts(ids).items():
                    self._moments[video] = max(self._moments.get(video, 0), count)

    def remove(self, ids: IdArray | list[int]) -> None:
        """Remove these photos and videos, with every view or moment each has
        (retrieval.views)."""
        entries = self.entry_ids(ids)
        if len(entries):
            self._own()
            self.index.remove_ids(faiss.IDSelectorBatch(entries))
            assert self._moments is not None  # entry_ids read them
            for video in np.asarray(ids, dtype=np.int64).tolist():
                self._moments.pop(video, None)

    def entry_ids(self, ids: IdArray | list[int]) -> IdArray:
        """Every index id these photos and videos may have: each one's own, its views',
        and a video's moments'."""
        ids = np.asarray(ids, dtype=np.int64)
        if self._moments is None:
            self._moments = moment_counts(self._all_ids())
        videos = [
            moment_ids(v, self._moments[v]) for v in ids.tolist() if v in self._moments
        ]
        return np.ascontiguousarray(
            np.concatenate([every_view_id(ids), *videos]), dtype=np.int64
        )

    def _all_ids(self) -> IdArray:
        """The ids the index holds, in no order."""
        if not isinstance(self.index, faiss.IndexIVF):
            id_map = self.index.id_map  # type: ignore[attr-defined]
            return faiss.vector_to_array(id_map).astype(np.int64)
        lists = self.index.invlists
        assert lists is not None
        parts = [np.zeros(0, dtype=np.int64)]
        for bucket in range(lists.nlist):
            size = lists.list_size(bucket)
            if size:
                pointer = lists.get_ids(bucket)
                parts.append(faiss.rev_swig_ptr(pointer, size).copy())
                lists.release_ids(bucket, pointer)  # type: ignore[attr-defined]
        return np.concatenate(parts)

    def search(
        self,
        query: FloatArray,
        k: int,
        allowed: IdArray | None = None,
        *,
        nprobe: int | None = None,
    ) -> tuple[FloatArray, IdArray]:
        """Top `k` (scores, ids) for each query row, best first; only `allowed` ids if given.

        Rows with fewer than `k` hits are padded with id -1.
        """
        query = np.ascontiguousarray(np.atleast_2d(query), dtype=np.float32)
        if query.shape[1] != self.dim:
            raise ValueError(
                f"query has dimension {query.shape[1]}, index has {self.dim}"
            )
        k = max(1, min(k, len(self)))
        empty = (
            np.zeros((len(query), k), dtype=np.float32),
            np.full((len(query), k), -1, dtype=np.int64),
        )
        if len(self) == 0:
            return empty
        selector = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return empty
            selector = faiss.IDSelectorBatch(allowed)
        if self.kind == "ivf":
            params: faiss.SearchParameters = faiss.SearchParametersIVF(  # type: ignore[call-arg]
                sel=selector, nprobe=nprobe or self.nprobe
            )
        else:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self.index.search(query, k, params=params)
        return scores, ids

    def search_filtered(
        self, query: FloatArray, k: int, allowed: IdArray
    ) -> tuple[FloatArray, IdArray]:
        """`search` restricted to `allowed` on an IVF index: nprobe is scaled up by how
        selective the filter is (so as many allowed vectors are visited as an unfiltered
        search visits), then doubled until `k` hits come back or every bucket is searched."""
        lists = int(getattr(self.index, "nlist", 1))
        share = max(len(allowed), 1) / max(len(self), 1)
        nprobe = min(lists, max(self.nprobe, math.ceil(self.nprobe / share)))
        want = min(k, len(allowed))
        while True:
            scores, ids = self.search(query, k, allowed, nprobe=nprobe)
            if nprobe >= lists or int((ids[0] >= 0).sum()) >= want:
                return scores, ids
            nprobe = min(lists, nprobe * 2)

    def range_search(
        self, query: FloatArray, threshold: float
    ) -> list[tuple[FloatArray, IdArray]]:
        """For each query row, every (score, id) with score above `threshold`."""
        query = np.ascontiguousarray(np.atleast_2d(query), dtype=np.float32)
        params = (
            faiss.SearchParametersIVF(nprobe=self.nprobe)  # type: ignore[call-arg]
            if self.kind == "ivf"
            else None
        )
        limits, scores, ids = self.index.range_search(query, threshold, params=params)
        return [
            (scores[limits[i] : limits[i + 1]], ids[limits[i] : limits[i + 1]])
            for i in range(len(query))
        ]

    def save(self, path: Path) -> None:
        """Write to a temporary file, fsync, and rename over `path`: a crash leaves the old
        file or the new one, never half of one. An index of unknown generation is not saved."""
        generation = self.generation
        if generation < 0:
            return
        payload = faiss.serialize_index(self.index)
        fd, tmp = tempfile.mkstemp(
            prefix=f"{_TEMP_PREFIX}{os.getpid()}-", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload.tobytes())
                out.write(
                    _TRAILER.pack(
                        len(payload), generation, self.nprobe, self.trained_for, _MAGIC
                    )
                )
                out.flush()
                os.fsync(out.fileno())
            checkpoint("index-written")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @classmethod
    def load(
        cls,
        path: Path,
        dim: int,
        generation: int | None = None,
        *,
        mapped: bool = False,
    ) -> VectorIndex:
        """Load a saved index, refusing one that is damaged, or of another generation than
        `generation` when that is given (else it keeps the one it was saved at).

        `mapped`: map the file instead of reading it, for a process that mostly searches;
        the first change to a mapped index reads it whole (see `_own`)."""
        saved = _read_layout(path)
        if generation is not None and saved.generation != generation:
            raise IndexFileError(
                f"{path} is stale (generation {saved.generation}, library {generation})"
            )
        try:
            if mapped and saved.mappable:
                # Flat indexes map their codes (MMAP_IFC), IVF ones their inverted
                # lists (MMAP); FAISS accepts only the flag of the index's own kind.
                flag = (
                    faiss.IO_FLAG_MMAP_IFC if saved.nprobe == 0 else faiss.IO_FLAG_MMAP
                )
                index = faiss.read_index(str(path), flag | faiss.IO_FLAG_READ_ONLY)
            else:
                with open(path, "rb") as f:
                    f.seek(saved.start)
                    data = f.read(saved.length)
                index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
                mapped = False
        except RuntimeError as exc:
            raise IndexFileError(
                f"{path} is damaged: {first_line(exc, None)}"
            ) from None
        if index.d != dim:
            raise IndexFileError(f"{path} has dimension {index.d}, library has {dim}")
        loaded = cls(dim, index, saved.generation, saved.nprobe, saved.trained_for)
        loaded.mapped = mapped
        return loaded


def _flat(dim: int) -> faiss.Index:
    codes = faiss.IndexScalarQuantizer(
        dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    return faiss.IndexIDMap2(codes)


def remove_stale_temp_files(folder: Path) -> None:
    """Temporary index files left by a process that died mid-save. Each carries its
    writer's process id: a live process's file is its save in progress, left alone."""
    for stale in folder.glob(f"{_TEMP_PREFIX}*.tmp"):
        pid = stale.name[len(_TEMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
