"""The FAISS size policy: exact below ``flat_max``, compressed IVF above, with recall, add/remove by id,
filters and persistence still working on the compressed kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.settings import DenseSettings, Settings
from indexer.backend.embedded.dense import DenseIndex

DIM = 32


def clustered_vectors(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres: embeddings are clustered, and IVF is only meaningful on such data."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, DIM))
    vectors = centres[rng.integers(0, 40, n)] + 0.35 * rng.normal(size=(n, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def top_ids(index: DenseIndex, query: np.ndarray, k: int = 10, allowed=None) -> list[int]:
    return [hit.pid for hit in index.search(query, k, allowed)]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return clustered_vectors(4000)


def test_settings_have_a_dense_section() -> None:
    settings = Settings()
    assert settings.dense.flat_max > 0 and settings.dense.kind_large in ("ivfsq8", "ivfpq")


def test_small_index_stays_exact(tmp_path: Path, vectors: np.ndarray) -> None:
    index = DenseIndex(DIM, settings=DenseSettings(flat_max=10_000))
    index.add(list(range(len(vectors))), vectors)
    index.save(tmp_path / "d.faiss")
    assert DenseIndex.load(tmp_path / "d.faiss", DIM).kind == "flat"


@pytest.mark.parametrize("kind, min_recall", [("ivfsq8", 0.95), ("ivfpq", 0.6)])
def test_large_index_switches_and_keeps_recall(tmp_path: Path, vectors: np.ndarray, kind: str, min_recall: float) -> None:
    exact = DenseIndex(DIM, settings=DenseSettings(flat_max=10**9))
    exact.add(list(range(len(vectors))), vectors)
    settings = DenseSettings(flat_max=1000, kind_large=kind, nprobe=16, pq_m=8)
    index = DenseIndex(DIM, settings=settings)
    index.add(list(range(len(vectors))), vectors)
    index.save(tmp_path / "d.faiss")
    loaded = DenseIndex.load(tmp_path / "d.faiss", DIM, settings)
    assert loaded.kind == "ivf" and len(loaded) == len(vectors)
    queries = clustered_vectors(50, seed=1)
    recall = np.mean([len(set(top_ids(exact, q)) & set(top_ids(loaded, q))) / 10 for q in queries])
    assert recall >= min_recall


def test_compressed_index_add_remove_filter(tmp_path: Path, vectors: np.ndarray) -> None:
    settings = DenseSettings(flat_max=1000, nprobe=4)
    index = DenseIndex(DIM, settings=settings)
    index.add(list(range(3000)), vectors[:3000])
    assert index.apply_size_policy() and index.kind == "ivf"
    index.add(list(range(3000, 4000)), vectors[3000:])  # incremental add after the switch
    assert len(index) == 4000 and index.max_id() == 3999
    assert top_ids(index, vectors[3500], 1) == [3500]

    index.remove([3500, 7])
    assert len(index) == 3998 and 3500 not in top_ids(index, vectors[3500], 50)

    # A narrow filter (3 passages far from the query) still returns all of them, best first.
    allowed = [12, 2999, 3999]
    hits = index.search(vectors[3500], 10, allowed)
    assert sorted(h.pid for h in hits) == allowed
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search(vectors[0], 10, [7]) == []  # removed id: filtered to nothing
    assert index.search(vectors[0], 10, []) == []

    index.save(tmp_path / "d.faiss")
    reloaded = DenseIndex.load(tmp_path / "d.faiss", DIM)
    assert reloaded.kind == "ivf" and len(reloaded) == 3998 and reloaded.max_id() == 3999


def test_ivf_is_retrained_when_the_corpus_outgrows_its_lists(tmp_path: Path, vectors: np.ndarray) -> None:
    import faiss

    settings = DenseSettings(flat_max=1000, nprobe=16)
    index = DenseIndex(DIM, settings=settings)
    index.add(list(range(1500)), vectors[:1500])
    index.save(tmp_path / "d.faiss")
    assert faiss.extract_index_ivf(index._index).nlist == 38  # min(2√1500, 1500 // 39)

    index.add(list(range(1500, 2000)), vectors[1500:2000])
    assert not index.needs_retraining() and not index.apply_size_policy()  # 2√n lists: 51 < 2 × 38

    index.add(list(range(2000, 4000)), vectors[2000:])
    index.remove([5])
    assert index.needs_retraining()
    index.save(tmp_path / "d.faiss")
    reloaded = DenseIndex.load(tmp_path / "d.faiss", DIM, settings)
    assert faiss.extract_index_ivf(reloaded._index).nlist == 102 and not reloaded.needs_retraining()
    assert len(reloaded) == 3999 and sorted(reloaded.ids().tolist()) == [i for i in range(4000) if i != 5]
    exact = DenseIndex(DIM, settings=DenseSettings(flat_max=10**9))
    exact.add([i for i in range(4000) if i != 5], np.delete(vectors, 5, axis=0))
    queries = clustered_vectors(50, seed=2)
    recall = np.mean([len(set(top_ids(exact, q)) & set(top_ids(reloaded, q))) / 10 for q in queries])
    assert recall >= 0.9
    fixed = DenseIndex(DIM, reloaded._index, DenseSettings(flat_max=1000, nlist=38))
    assert not fixed.needs_retraining()  # a configured nlist is the operator's choice: never changed


def test_dimension_mismatch_is_refused(tmp_path: Path, vectors: np.ndarray) -> None:
    index = DenseIndex(DIM)
    index.add([0], vectors[:1])
    index.save(tmp_path / "d.faiss")
    with pytest.raises(ValueError):
        DenseIndex.load(tmp_path / "d.faiss", DIM + 1)


def test_ivf_fill_in_chunks_equals_one_shot(monkeypatch: pytest.MonkeyPatch, vectors: np.ndarray) -> None:
    """A retraining decodes and adds the stored vectors chunk by chunk (flat memory, #11): the index it
    builds holds the same ids and codes as one built from the whole array at once."""
    import faiss

    from indexer.backend.embedded import dense

    ids = np.arange(100, 100 + len(vectors), dtype=np.int64)
    settings = DenseSettings(nprobe=16)
    whole = dense.build_ivf(vectors, ids, settings)
    monkeypatch.setattr(dense, "IVF_FILL_CHUNK", 333)
    seen: list[int] = []

    def decode(chunk_ids: np.ndarray) -> np.ndarray:
        seen.append(len(chunk_ids))
        return vectors[chunk_ids - 100]

    chunked = dense.build_ivf(decode, ids, settings)
    # a one-vector dimension probe, the training sample (at most train_size), then chunks of the fill
    assert seen[0] == 1 and seen[1] == min(len(ids), settings.train_size)
    assert max(seen[2:]) <= 333 and sum(seen[2:]) == len(ids)
    assert chunked.ntotal == whole.ntotal == len(ids)
    as_bytes = lambda index: faiss.serialize_index(index).tobytes()  # noqa: E731
    assert as_bytes(chunked) == as_bytes(whole)
