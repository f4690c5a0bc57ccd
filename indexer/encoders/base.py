"""The small interface every text encoder implements.

Retrieval models treat queries and passages differently (e5 needs "query:"/"passage:" prefixes,
USE does not), so the interface has one method for each. Vectors are L2-normalised float32, so inner
product = cosine and FAISS ``IndexFlatIP`` gives exact cosine search.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 L2-normalised vectors for search queries."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32 L2-normalised vectors for indexed passages."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Row-normalise to unit length (zero rows stay zero) as contiguous float32, FAISS's input format."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def batched(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]
