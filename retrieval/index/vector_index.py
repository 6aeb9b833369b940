"""A thin FAISS wrapper: ids are the images' primary keys, vectors are unit length, so inner
product is cosine similarity. Saved atomically, with the store generation it reflects."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import faiss
import numpy as np

from retrieval.errors import first_line
from retrieval.index.file import (
    INDEX_NAME,
    IndexFileError,
    read_header,
    read_layout,
    remove_stale_temp_files,
    write_index_file,
)
from retrieval.index.ids import MOMENT_BASE, every_view_id, moment_counts, moment_ids
from retrieval.index.kinds import ExactVectors, Kind, kind_of
from retrieval.records import FloatArray, IdArray

__all__ = [
    "INDEX_NAME",
    "KINDS",
    "IndexFileError",
    "VectorIndex",
    "read_header",
    "remove_stale_temp_files",
]

log = logging.getLogger(__name__)

KINDS = ("flat", "ivf", "pq")


class VectorIndex:
    """Either exact ("flat": every vector compared) or approximate ("ivf": vectors bucketed
    around trained centroids, 8-bit scalar quantised, `nprobe` buckets searched; "pq": the
    same buckets holding 4-bit product-quantised residuals, a quarter of IVF's bytes and
    scanned many times faster, whose `rerank` best candidates are then scored exactly from
    the stored vectors, so the scores returned are exact).

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
        rerank: int = 0,
    ) -> None:
        self.dim = dim
        self.index = index if index is not None else _flat(dim)
        # The store generation whose vectors this index holds; -1 when unknown.
        self.generation = generation
        self.nprobe = nprobe
        # How many vectors the IVF centroids were trained for: far more means retrain.
        self.trained_for = trained_for
        # "pq": candidates re-scored exactly per query (tuned with nprobe); 0 otherwise.
        self.rerank = rerank
        # "pq": where the exact vectors come from (the store); set by whoever opens it.
        self.exact: ExactVectors | None = None
        # Searching straight from the mapped file, read-only (see `load`).
        self.mapped = False
        # Each video's number of moments besides its own id (retrieval.index.ids), read from
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

    @classmethod
    def pq(cls, dim: int, lists: int, training: FloatArray) -> VectorIndex:
        """An empty "pq" index, its centroids and codebooks trained on `training`: two
        dimensions per 4-bit code (an eighth of float16's bytes), in FAISS's fast-scan
        layout (codes compared 32 at a time in SIMD registers)."""
        m = dim // 2 if dim % 2 == 0 else dim
        index = faiss.index_factory(
            dim, f"IVF{lists},PQ{m}x4fs", faiss.METRIC_INNER_PRODUCT
        )
        index.train(np.ascontiguousarray(training, dtype=np.float32))
        return cls(dim, index, nprobe=1, trained_for=len(training), rerank=100)

    @property
    def strategy(self) -> Kind:
        """How this kind of index searches (retrieval.index.kinds)."""
        return kind_of(self.index)

    @property
    def kind(self) -> str:
        return self.strategy.name

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
        (retrieval.index.ids)."""
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
        return self.strategy.search(self, query, k, selector, nprobe or self.nprobe)

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
        return self.strategy.range_search(self, query, threshold)

    def save(self, path: Path) -> None:
        """Written atomically (retrieval.index.file). An index of unknown generation is
        not saved."""
        if self.generation < 0:
            return
        write_index_file(
            path,
            faiss.serialize_index(self.index).tobytes(),
            self.generation,
            self.nprobe,
            self.trained_for,
            self.rerank,
        )

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
        saved = read_layout(path)
        if generation is not None and saved.generation != generation:
            raise IndexFileError(
                f"{path} is stale (generation {saved.generation}, library {generation})"
            )
        try:
            # Fast-scan ("pq") lists cannot be mapped; they are an eighth of float16's
            # bytes, and read whole.
            if mapped and saved.mappable and not saved.rerank:
                # Flat indexes map their codes (MMAP_IFC), IVF ones their inverted
                # lists (MMAP); FAISS accepts only the flag of the index's own kind.
                flag = (
                    faiss.IO_FLAG_MMAP_IFC if saved.nprobe == 0 else faiss.IO_FLAG_MMAP
                )
                index = faiss.read_index(str(path), flag | faiss.IO_FLAG_READ_ONLY)
            elif saved.mappable:
                # FAISS reads its bytes and stops before the trailer: no copy here.
                index = faiss.read_index(str(path))
                mapped = False
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
        loaded = cls(
            dim,
            index,
            saved.generation,
            saved.nprobe,
            saved.trained_for,
            saved.rerank,
        )
        loaded.mapped = mapped
        return loaded


def _flat(dim: int) -> faiss.Index:
    codes = faiss.IndexScalarQuantizer(
        dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    return faiss.IndexIDMap2(codes)
