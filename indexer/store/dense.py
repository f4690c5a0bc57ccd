"""Dense index of passage vectors (FAISS), keyed by passage id.

Vectors are L2-normalised, so inner product is cosine. ``IndexIDMap2`` over an exact ``IndexFlatIP``
lets us add and remove passages by id for incremental runs; filtered search passes the allowed ids
as an ``IDSelectorBatch`` so filters are exact, not a post-filter that may return too few hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from indexer.store.layout import atomic_write_bytes


@dataclass(frozen=True)
class DenseHit:
    pid: int
    score: float


class DenseIndex:
    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, path: Path, dim: int) -> DenseIndex:
        if not path.exists():
            return cls(dim)
        index = faiss.read_index(str(path))
        if index.d != dim:
            raise ValueError(f"dense index at {path} has dimension {index.d}, encoder produces {dim}")
        return cls(dim, index)

    def save(self, path: Path) -> None:
        atomic_write_bytes(path, faiss.serialize_index(self._index).tobytes())

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, pids: list[int], vectors: np.ndarray) -> None:
        if len(pids) != len(vectors):
            raise ValueError("one vector per passage id is required")
        if len(pids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(pids, dtype=np.int64))

    def remove(self, pids: list[int]) -> None:
        if pids:
            self._index.remove_ids(np.asarray(pids, dtype=np.int64))

    def search(self, query: np.ndarray, limit: int, allowed_pids: list[int] | None = None) -> list[DenseHit]:
        """Top-*limit* passages by cosine; restricted to *allowed_pids* when given (possibly empty)."""
        if len(self) == 0 or limit <= 0 or (allowed_pids is not None and not allowed_pids):
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed_pids is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed_pids, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self._index.search(query, min(limit, len(self)), params=params)
        return [DenseHit(pid=int(i), score=float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def max_id(self) -> int:
        """Largest passage id stored (-1 when empty), so new ids never collide after an interrupted run."""
        if len(self) == 0:
            return -1
        return int(faiss.vector_to_array(self._index.id_map).max())
