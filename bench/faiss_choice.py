"""Which FAISS index at which size: recall@10 against exact search, latency per query, memory, build time.

Vectors are the derived passage vectors of :mod:`bench.synthetic` (real-encoder sentence vectors
summed per passage), queries are real-encoder query vectors. Candidates:

* Flat (exact, the reference), IVF-SQ8 at several ``nprobe``, IVF-PQ (``pq_m`` bytes), HNSW-Flat (M=32)
  for comparison only (it cannot remove ids, see indexer/backend/embedded/dense.py).

    python -m bench.faiss_choice 100000 1000000
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from bench.build import ROOT, derived_encoder, label
from bench.synthetic import queries as make_queries
from bench.synthetic import reports
from indexer.settings import DenseSettings, Settings
from indexer.backend.embedded.dense import DenseIndex, build_ivf

NPROBES = (32, 64, 128, 192, 256, 384)


def passage_vectors(count: int, encoder) -> np.ndarray:  # noqa: ANN001 - a DerivedEncoder
    """Derived vectors for *count* synthetic passages (cached: 1M × 512-d is 2 GB, a few minutes)."""
    cache = ROOT / f"vectors-{encoder.name}-{label(count)}.npy"
    if cache.exists():
        return np.load(cache, mmap_mode="r")
    texts = [text for report in reports(count // 3 + 1) for _, text in report.sections][:count]
    vectors = np.vstack([encoder.encode_passages(texts[i : i + 50_000]) for i in range(0, len(texts), 50_000)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def _timed_search(index: faiss.Index, queries: np.ndarray, k: int = 10, params=None) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Top-k ids per query searched one at a time (as the API does); returns (ids, per-query ms)."""
    ids, times = [], []
    for q in queries:
        started = time.perf_counter()
        _, found = index.search(q[None, :], k, params=params)
        times.append((time.perf_counter() - started) * 1000)
        ids.append(found[0])
    return np.array(ids), np.array(times)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def compare(count: int, n_queries: int = 200, hnsw: bool = True) -> list[dict]:
    settings = Settings()
    encoder = derived_encoder(settings)
    vectors = np.ascontiguousarray(passage_vectors(count, encoder), dtype=np.float32)
    queries = encoder.encode_queries(make_queries(n_queries, seed=3))
    ids = np.arange(len(vectors), dtype=np.int64)
    rows: list[dict] = []

    exact = DenseIndex(vectors.shape[1], settings=DenseSettings(flat_max=10**12))
    exact.add(ids, vectors)
    truth, times = _timed_search(exact._index, queries)
    rows.append(_row("Flat (exact)", count, exact._index, 1.0, times, 0.0))

    for kind in ("ivfsq8", "ivfpq"):
        started = time.perf_counter()
        index = build_ivf(vectors, ids, DenseSettings(kind_large=kind))
        build_s = time.perf_counter() - started
        for nprobe in NPROBES if kind == "ivfsq8" else (32, 64):
            found, times = _timed_search(index, queries, params=faiss.SearchParametersIVF(nprobe=nprobe))
            codec = "SQ8" if kind == "ivfsq8" else f"PQ{faiss.downcast_index(index).pq.M}"
            name = f"IVF{index.nlist},{codec} nprobe={nprobe}"
            rows.append(_row(name, count, index, recall(found, truth), times, build_s))
        del index

    if hnsw:
        started = time.perf_counter()
        index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(vectors)
        build_s = time.perf_counter() - started
        for ef in (32, 64):
            found, times = _timed_search(index, queries, params=faiss.SearchParametersHNSW(efSearch=ef))
            rows.append(_row(f"HNSW32,Flat efSearch={ef} (no remove_ids)", count, index, recall(found, truth), times, build_s))
    return rows


def _row(name: str, count: int, index: faiss.Index, rec: float, times: np.ndarray, build_s: float) -> dict:
    return {
        "passages": count, "index": name, "recall@10": round(rec, 3),
        "p50_ms": round(float(np.percentile(times, 50)), 2), "p95_ms": round(float(np.percentile(times, 95)), 2),
        "size_mb": round(faiss.serialize_index(index).nbytes / 1e6), "build_s": round(build_s, 1),
    }


def table(rows: list[dict]) -> str:
    lines = ["| passages | index | recall@10 vs exact | p50 ms | p95 ms | size MB | build s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {label(r['passages'])} | {r['index']} | {r['recall@10']:.3f} | {r['p50_ms']} | {r['p95_ms']} | {r['size_mb']} | {r['build_s']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--no-hnsw", action="store_true")
    args = parser.parse_args()
    print(table([row for size in args.sizes for row in compare(size, hnsw=not args.no_hnsw)]))
