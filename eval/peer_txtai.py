"""txtai's hybrid search as a peer row on the same passages and the same vectors.

Why: "is medsearch better than what a user would pick instead?" needs the peer on equal terms. txtai
(``Embeddings(hybrid=True)``: its BM25 and dense scores normalised and combined convexly, 0.5 each)
indexes every passage medsearch indexes, raw text for its BM25, and for its dense side the *exact*
vector medsearch stored for that passage (looked up from the evaluation's vector cache); queries are
embedded by the same encoder. Passage hits are collapsed to their report (best passage first).

txtai imports ``transformers``, which imports ``torchvision`` when it is installed; the CPU torch here
has no torchvision kernels (shared/MODELS.md), so torchvision is hidden from that import.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

import numpy as np


def _import_embeddings():  # noqa: ANN202 - txtai.Embeddings
    hidden = "torchvision" not in sys.modules
    if hidden:
        sys.modules["torchvision"] = None  # type: ignore[assignment]  # transformers then sees it as absent
    try:
        from txtai import Embeddings
    finally:
        if hidden:
            sys.modules.pop("torchvision", None)
    return Embeddings


class TxtaiHybrid:
    """txtai hybrid index over (report id, passage text, passage vector) triples."""

    def __init__(self, passages: Sequence[tuple[str, str, np.ndarray]], encode_query: Callable[[list[str]], np.ndarray]) -> None:
        Embeddings = _import_embeddings()
        by_uid = {f"{doc}#{i}": vector for i, (doc, _, vector) in enumerate(passages)}
        self._pending: dict[str, np.ndarray] = {}

        def transform(texts: list[str]) -> np.ndarray:
            # indexing: texts are uids resolved below; search: a query, embedded by our encoder
            if self._pending:  # indexing: each passage text gets the vector medsearch stored for it
                return np.vstack([self._pending[t] for t in texts]).astype(np.float32)
            return encode_query(list(texts)).astype(np.float32)

        self._embeddings = Embeddings({"method": "external", "transform": transform, "hybrid": True,
                                       "content": False, "backend": "faiss"})
        started = time.perf_counter()
        documents = []
        for i, (doc, text, _vector) in enumerate(passages):
            documents.append((f"{doc}#{i}", text, None))
        # txtai embeds the document text with transform(): map each text to its stored vector (a text
        # repeated in several reports, e.g. a stock impression, has the same vector in each)
        self._pending = {}
        for uid, (_, text, _) in zip(by_uid, passages):
            self._pending.setdefault(text, by_uid[uid])
        self._embeddings.index(documents)
        self._pending = {}
        self.index_seconds = time.perf_counter() - started

    def rank(self, query: str, limit: int = 100) -> list[str]:
        hits = self._embeddings.search(query, limit * 3)
        return list(dict.fromkeys(uid.rsplit("#", 1)[0] for uid, _score in hits))[:limit]
