"""Dense index of passage vectors (FAISS), keyed by passage id.

Vectors are L2-normalised, so inner product is cosine. Two kinds, chosen by size (``dense:`` settings):

* **flat** — ``IndexIDMap2`` over an exact ``IndexFlatIP``: exact search, 4·d bytes per passage. Used
  while the corpus has at most ``flat_max`` passages (200k × 384-d ≈ 300 MB, ~10 ms per query).
* **ivf** — ``IndexIVFScalarQuantizer`` (SQ8, 4× smaller, recall@10 0.96 vs exact at 100k with the default
  ``nprobe``) or ``IndexIVFPQ`` (``pq_m`` bytes per passage, lower recall). IVF stores passage ids in
  its inverted lists, so add/remove by id and ``IDSelector`` filters keep working. HNSW was measured
  (BENCHMARKS.md) but is not offered: it cannot remove ids, and incremental runs replace documents.

The switch happens on :meth:`DenseIndex.save` when the flat index has grown past ``flat_max``; it is
one-way (a shrinking corpus keeps its IVF index until ``medsearch index --rebuild``). An IVF index is
retrained on a later save once the corpus has grown enough that its lists are too few (see
:meth:`DenseIndex.needs_retraining`), from its own decoded vectors: no re-encoding.

Each query is searched with ``search_threads`` OpenMP threads (default 1): the API answers requests
concurrently, and fanning one query out over threads that the encoder or other requests are using
made FAISS slower, not faster (100k flat, 2 busy cores: p50 54 ms with 2 threads, 21 ms with 1).

Filtered search passes the allowed ids as an id selector, so filters are applied inside the search,
not as a post-filter that may return too few hits. With IVF, a filter keeping a fraction *f* of the
passages scans ``nprobe / f`` lists (capped at all lists), so a narrow filter (one patient) becomes an
exhaustive scan of that patient's passages rather than an empty page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from indexer.crashpoints import crash_point
from indexer.settings import DenseSettings
from indexer.backend.embedded.layout import atomic_write_bytes


@dataclass(frozen=True)
class DenseHit:
    pid: int
    score: float


def _new_flat(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def ivf_lists_for(passages: int, settings: DenseSettings) -> int:
    """IVF list count for a corpus of *passages*: ``settings.nlist``, or 2·√n (≥ 39 training points per list)."""
    nlist = settings.nlist or max(16, int(2 * math.sqrt(max(passages, 1))))
    return max(1, min(nlist, passages // 39))


#: vectors decoded or copied at a time while an IVF index is (re)built: a retraining at 1M passages
#: must not hold every vector as float32 at once (1.5 GB), only the two compressed indexes and one chunk
IVF_FILL_CHUNK = 50_000


def build_ivf(
    vectors: np.ndarray | Callable[[np.ndarray], np.ndarray], ids: np.ndarray, settings: DenseSettings
) -> faiss.Index:
    """Train and fill an IVF index (``settings.kind_large``) with the vectors of *ids*.

    *vectors* is an array aligned with *ids*, or a function returning the vectors of a slice of *ids*
    (a retraining decodes the stored vectors chunk by chunk: indexing memory stays flat as the corpus
    grows, #11). Training uses a sample of at most ``settings.train_size`` vectors."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n = len(ids)

    def vectors_at(positions: np.ndarray) -> np.ndarray:  # rows of *ids* at *positions*
        return vectors(ids[positions]) if callable(vectors) else vectors[positions]

    dim = int(vectors_at(np.arange(1)).shape[1]) if n else 0
    nlist = ivf_lists_for(n, settings)
    pq_m = max(m for m in range(1, settings.pq_m + 1) if dim % m == 0)  # PQ needs m | dim (512-d: 32)
    codec = "SQ8" if settings.kind_large == "ivfsq8" else f"PQ{pq_m}"
    index = faiss.index_factory(dim, f"IVF{nlist},{codec}", faiss.METRIC_INNER_PRODUCT)
    if isinstance(index, faiss.IndexIVFPQ):
        index.do_polysemous_training = False  # slow, and only used by Hamming-filtered search we don't run
    rng = np.random.default_rng(0)
    sample = np.arange(n) if n <= settings.train_size else np.sort(rng.choice(n, settings.train_size, replace=False))
    index.train(np.ascontiguousarray(vectors_at(sample), dtype=np.float32))
    for start in range(0, n, IVF_FILL_CHUNK):
        chunk = np.arange(start, min(start + IVF_FILL_CHUNK, n))
        index.add_with_ids(np.ascontiguousarray(vectors_at(chunk), dtype=np.float32), ids[chunk])
    index.nprobe = min(settings.nprobe, nlist)
    return index


def _id_selector(allowed: np.ndarray) -> tuple[faiss.IDSelector, np.ndarray]:
    """A bitmap selector (O(1) membership, cheap to build for 100k+ ids); returns the buffer to keep alive.

    *allowed* is a boolean mask indexed by passage id, or an array of allowed passage ids.
    """
    if allowed.dtype != np.bool_:
        ids = allowed.astype(np.int64, copy=False)
        allowed = np.zeros(int(ids.max()) + 1, dtype=bool)
        allowed[ids] = True
    bitmap = np.packbits(allowed, bitorder="little")
    return faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap)), bitmap  # n = bytes


def _allowed_count(allowed: np.ndarray) -> int:
    return int(allowed.sum()) if allowed.dtype == np.bool_ else len(allowed)


class DenseIndex:
    def __init__(self, dim: int, index: faiss.Index | None = None, settings: DenseSettings | None = None) -> None:
        self.dim = dim
        self.settings = settings or DenseSettings()
        self._index = index if index is not None else _new_flat(dim)
        if self.kind == "ivf" and settings is not None:  # configured nprobe wins over the saved one
            faiss.extract_index_ivf(self._index).nprobe = settings.nprobe

    @classmethod
    def load(cls, path: Path, dim: int, settings: DenseSettings | None = None) -> DenseIndex:
        if not path.exists():
            return cls(dim, settings=settings)
        index = faiss.read_index(str(path))
        if index.d != dim:
            raise ValueError(f"dense index at {path} has dimension {index.d}, encoder produces {dim}")
        return cls(dim, index, settings)

    @property
    def kind(self) -> str:
        """``flat`` (exact) or ``ivf`` (compressed, approximate)."""
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "flat"

    def save(self, path: Path) -> None:
        """Write the index, first switching flat → IVF if it outgrew ``flat_max``."""
        self.apply_size_policy()
        atomic_write_bytes(path, faiss.serialize_index(self._index).tobytes())

    def apply_size_policy(self) -> bool:
        """Convert to the compressed kind when the flat index holds more than ``flat_max`` passages, and
        retrain an IVF index whose corpus has outgrown its lists; True when the index was rebuilt."""
        if self.kind == "flat":
            if len(self) <= self.settings.flat_max:
                return False
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            flat = faiss.downcast_index(self._index.index)
            vectors = faiss.rev_swig_ptr(flat.get_xb(), len(ids) * self.dim).reshape(len(ids), self.dim).copy()
            self._index = build_ivf(vectors, ids, self.settings)
        elif self.needs_retraining():
            old = self._index  # keep it alive: *ivf* below is a borrowed pointer into it
            ivf = faiss.extract_index_ivf(old)
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # decode by id, chunk by chunk
            try:
                self._index = build_ivf(old.reconstruct_batch, self.ids(), self.settings)
            finally:
                ivf.set_direct_map_type(faiss.DirectMap.NoMap)
                del ivf, old
        else:
            return False
        crash_point("dense.converted")  # IVF built in memory, not yet written
        return True

    def needs_retraining(self) -> bool:
        """An IVF index trained on a much smaller corpus: its lists have grown ``retrain_ratio``× too long.

        IVF is trained once, on the passages present at conversion; as incremental runs add passages
        every list grows and a query scans ``nprobe`` ever longer lists (slower) while the centroids
        describe the old corpus (lower recall). With automatic ``nlist`` (2·√n) the ideal list count
        doubles each time the corpus grows 4×, which is when (default ratio 2) the index is retrained.
        """
        if self.kind != "ivf" or self.settings.nlist is not None:
            return False
        current = faiss.extract_index_ivf(self._index).nlist
        return ivf_lists_for(len(self), self.settings) >= self.settings.retrain_ratio * current

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, pids: list[int], vectors: np.ndarray) -> None:
        if len(pids) != len(vectors):
            raise ValueError("one vector per passage id is required")
        if len(pids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(pids, dtype=np.int64))

    def remove(self, pids: list[int]) -> None:
        if len(pids):
            self._index.remove_ids(np.asarray(pids, dtype=np.int64))

    def search(
        self, query: np.ndarray, limit: int, allowed_pids: list[int] | np.ndarray | None = None
    ) -> list[DenseHit]:
        """Top-*limit* passages by cosine; restricted to *allowed_pids* when given (possibly empty).

        *allowed_pids* is a list/array of passage ids, or a boolean mask indexed by passage id (what
        :class:`indexer.backend.embedded.passage_table.PassageTable` produces).
        """
        allowed = None if allowed_pids is None else np.asarray(allowed_pids)
        allowed_count = None if allowed is None else _allowed_count(allowed)
        if len(self) == 0 or limit <= 0 or allowed_count == 0:
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        keep_alive = None
        selector = None
        if allowed is not None:
            selector, keep_alive = _id_selector(allowed)
        if self.kind == "ivf":
            ivf = faiss.extract_index_ivf(self._index)
            nprobe = ivf.nprobe
            if allowed_count is not None:  # keep the expected number of allowed candidates scanned constant
                fraction = min(1.0, allowed_count / len(self))
                nprobe = min(ivf.nlist, math.ceil(nprobe / fraction))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe) if selector else faiss.SearchParametersIVF(nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector else None
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(max(1, self.settings.search_threads))  # per calling thread (OpenMP ICV)
        try:
            scores, ids = self._index.search(query, min(limit, len(self)), params=params)
        finally:
            faiss.omp_set_num_threads(previous)
        del keep_alive
        return [DenseHit(pid=int(i), score=float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def vectors(self, pids: Sequence[int]) -> np.ndarray | None:
        """The stored vectors of *pids* (unknown ids left out), read from a flat index's storage; None
        for an IVF index (its vectors are compressed and not addressable by id without a direct map)."""
        if self.kind != "flat":
            return None
        ids = self.ids()
        wanted = np.asarray(list(pids), dtype=np.int64)
        if not len(ids) or not len(wanted):
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort(ids, kind="stable")
        at = np.minimum(np.searchsorted(ids[order], wanted), len(ids) - 1)
        found = order[at[ids[order][at] == wanted]]
        flat = faiss.downcast_index(self._index.index)
        storage = faiss.rev_swig_ptr(flat.get_xb(), len(ids) * self.dim).reshape(len(ids), self.dim)
        return storage[found].copy()

    def ids(self) -> np.ndarray:
        """Every passage id stored (int64), whatever the index kind."""
        if self.kind == "flat":
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        invlists = faiss.extract_index_ivf(self._index).invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(lst), invlists.list_size(lst)).copy()
            for lst in range(invlists.nlist)
            if invlists.list_size(lst)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def max_id(self) -> int:
        """Largest passage id stored (-1 when empty), so new ids never collide after an interrupted run."""
        if len(self) == 0:
            return -1
        return int(self.ids().max())
