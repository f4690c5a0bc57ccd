"""Word translations induced from the encoder (#14 item 5, third round): the index's English vocabulary,
the CSLS threshold on a fake space with known vectors, the hand-off to the cognate validation, the query
plan, and the engine wiring on a small English index."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from indexer.clinical.cognates import CognateTranslator
from indexer.clinical.induced import InducedTranslator, build_vocabulary, english_vocabulary
from search_api.models import SearchRequest
from engine_support import engine_over_reports
from search_api.query_plan import plan_query


def test_vocabulary_counts_documents_with_words_and_adjacent_phrases() -> None:
    texts = ["Volume loss at the left base.", "Mild volume loss. Left base clear.", "Volume loss, left base",
             "XXXX volume"]
    vocabulary = english_vocabulary(texts, min_documents=2)
    assert vocabulary["volume"] == 4 and vocabulary["volume loss"] == 3 and vocabulary["left base"] == 3
    assert "the" not in vocabulary and "at the" not in vocabulary  # stop words are not entries
    assert "loss left" not in vocabulary  # "loss, left": punctuation between, not a phrase
    assert "xxxx" not in vocabulary and "mild" not in vocabulary  # anonymisation; one document only
    assert list(english_vocabulary(texts, min_documents=4)) == ["volume"]


# a 3-d space where each string's vector is known: « coupole » sits near "hemidiaphragm", "normal" is a
# hub (near everything), « trame » is as near to "normal" as to "markings"
VECTORS = {
    "hemidiaphragm": [1.0, 0.0, 0.0], "markings": [0.0, 1.0, 0.0], "normal": [0.6, 0.6, 0.5], "tube": [0.0, 0.0, 1.0],
    "coupole": [0.95, 0.05, 0.05], "trame": [0.30, 0.70, 0.30], "sonde": [0.1, 0.1, 0.99],
}


def _embed(texts: list[str]) -> np.ndarray:
    rows = np.array([VECTORS[t] for t in texts], dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


ENGLISH_TEXTS = [*["hemidiaphragm"] * 5, *["markings"] * 5, *["normal"] * 5, *["tube"] * 5]


def _translator(min_csls: float) -> InducedTranslator:
    return InducedTranslator(_embed, lambda: ENGLISH_TEXTS, min_csls=min_csls, min_documents=5, k=2)


def test_csls_discounts_hubs_and_the_threshold_decides() -> None:
    translator = _translator(0.0)
    scored = translator.scored("coupole", top=4)
    assert scored[0][0] == "hemidiaphragm"
    # CSLS = 2 cos − r(word) − r(entry), by hand
    vocabulary = translator.vocabulary()
    cosines = vocabulary.vectors @ _embed(["coupole"])[0]
    r_word = np.sort(cosines)[-2:].mean()
    i = vocabulary.entries.index("hemidiaphragm")
    assert scored[0][1] == pytest.approx(2 * cosines[i] - r_word - vocabulary.hubness[i], abs=1e-5)
    # « trame »: the raw nearest is the hub "normal"; CSLS ranks "markings" first
    assert max(vocabulary.entries, key=lambda e: float(vocabulary.vectors[vocabulary.entries.index(e)] @ _embed(["trame"])[0])) == "normal"
    assert translator.scored("trame")[0][0] == "markings"
    best = {word: translator.scored(word)[0][1] for word in ("coupole", "trame", "sonde")}
    assert best["coupole"] > best["trame"] and best["sonde"] > best["trame"]
    # a threshold between the two: the clear neighbour passes, the weak one does not
    cut = (best["trame"] + min(best["coupole"], best["sonde"])) / 2
    strict = _translator(cut)
    assert strict("coupole") == ("hemidiaphragm",) and strict("sonde") == ("tube",) and strict("trame") == ()
    assert _translator(best["trame"] - 1e-4)("trame") == ("markings",)
    strict.min_csls = 10.0
    assert strict("coupole") == ("hemidiaphragm",)  # memoised per word ...
    strict.forget_words()
    assert strict("coupole") == ()                  # ... until told the threshold changed


def test_the_word_itself_is_never_its_translation() -> None:
    translator = InducedTranslator(_embed, lambda: [*["tube"] * 5, *["markings"] * 5], min_csls=-10.0, min_documents=5, k=1)
    assert [entry for entry, _, _ in translator.scored("tube")] == ["markings"]  # "tube" typed: its entry skipped


def test_hubness_is_the_mean_cosine_with_the_k_nearest_other_entries() -> None:
    vocabulary = build_vocabulary(["hemidiaphragm", "markings", "normal", "tube"], _embed, k=2, chunk=3)
    vectors = _embed(["hemidiaphragm", "markings", "normal", "tube"])
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    assert np.allclose(vocabulary.hubness, np.sort(sims, axis=1)[:, -2:].mean(axis=1), atol=1e-6)


def _counting(vocabulary: dict[str, int]):  # noqa: ANN202
    return lambda words: {w: vocabulary.get(w, 0) for w in words}


def test_induced_words_only_for_what_nothing_else_translates_and_validated_like_cognates() -> None:
    counts = _counting({"density": 40, "hemidiaphragm": 30, "tube": 2})
    asked: list[str] = []

    def induced(word: str) -> tuple[str, ...]:
        asked.append(word)
        return {"coupole": ("hemidiaphragm",), "sonde": ("tube",), "densité": ("opacity",)}.get(word, ())

    translator = CognateTranslator(counts, min_passages=3)
    assert translator("coupole") == ()  # off by default
    translator.induced = induced
    translator.clear()
    assert translator("densité") == ("density",) and asked == []  # a validated cognate: the encoder is not asked
    assert translator("coupole") == ("hemidiaphragm",)
    assert translator("sonde") == ()  # "tube": 2 English passages, under the floor of 3
    assert asked == ["coupole", "sonde"]


def test_plan_of_a_french_query_carries_the_induced_word_and_english_queries_do_not() -> None:
    translator = CognateTranslator(_counting({"hemidiaphragm": 30, "elevated": 50}), min_passages=3)
    translator.induced = lambda word: {"coupole": ("hemidiaphragm",), "elevated": ("raised",)}.get(word.lower(), ())
    plan = plan_query(SearchRequest(q="coupole droite surélevée"), dense_translation=True, cognates=translator)
    assert ("coupole", ("hemidiaphragm",)) in plan.cognates
    assert "hemidiaphragm" in plan.lexical_text.split() and plan.dense_text.endswith("hemidiaphragm")
    assert plan.interpretation.cognates["coupole"] == ["hemidiaphragm"]
    english = plan_query(SearchRequest(q="elevated hemidiaphragm with volume loss"), dense_translation=True, cognates=translator)
    assert english.language == "en" and english.cognates == [] and "raised" not in english.lexical_text


# -- the engine: the vocabulary comes from the index's English documents ----------------------------------
REPORTS = {
    "E1": "Findings: Elevated right hemidiaphragm. Lungs are clear.",
    "E2": "Findings: The right hemidiaphragm is elevated. No effusion.",
    "E3": "Findings: Elevated left hemidiaphragm with volume loss.",
    "E4": "Findings: Lungs are clear. Heart size normal. No pneumothorax.",
    "E5": "Findings: The hemidiaphragm contour is stable and the heart size is normal.",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return engine_over_reports(tmp_path_factory.mktemp("induced"), REPORTS)


def test_engine_builds_the_vocabulary_from_english_documents_and_searches_the_induced_word(engine) -> None:  # noqa: ANN001
    assert engine.cognates.induced is None  # off by default
    texts = list(engine.backend.document_texts("en"))
    assert len(texts) == 5 and any("volume loss" in t for t in texts)
    assert list(engine.backend.document_texts("fr")) == []
    engine.induced.min_documents = 2
    engine.induced.clear()
    entries = set(engine.induced.vocabulary().entries)
    assert {"hemidiaphragm", "elevated", "right hemidiaphragm", "heart size"} <= entries
    assert "volume loss" not in entries and engine.induced.vocabulary().vectors.shape == (len(entries), engine.encoder.dim)

    def ids(query: str) -> list[str]:
        return sorted(Path(r.id.split(":", 1)[-1]).stem for r in engine.search(SearchRequest(q=query, mode="lexical")).results)

    assert ids("la coupole") == []
    engine.cognates.induced = lambda word: {"coupole": ("hemidiaphragm",)}.get(word.lower(), ())
    engine.cognates.clear()
    try:
        assert ids("la coupole") == ["E1", "E2", "E3", "E5"]
        assert ids("coupole") == []  # its language cannot be told: the encoder's words serve French queries only
        engine.cognates.induced_languages = frozenset({"fr", None})
        assert ids("coupole") == ["E1", "E2", "E3", "E5"]
    finally:
        engine.cognates.induced_languages = frozenset({"fr"})
        engine.cognates.induced = None
        engine.cognates.clear()


def test_shipped_default_is_off() -> None:
    from indexer.settings import Settings, get_settings

    for search in (Settings().search, get_settings().search):
        assert search.induced_translations is False and search.induced_min_csls == 0.08


def test_a_new_generation_keeps_serving_the_old_vocabulary_until_the_new_one_is_built() -> None:
    documents = [list(ENGLISH_TEXTS)]
    translator = InducedTranslator(_embed, lambda: documents[0], min_csls=0.0, min_documents=5, k=2)
    assert translator("sonde") == ("tube",)
    documents[0] = [*["hemidiaphragm"] * 5, *["markings"] * 5, *["normal"] * 5]  # "tube" gone from the index
    translator.renew()
    for _ in range(500):  # the rebuild runs in a background thread
        if "tube" not in translator.vocabulary().entries:
            break
        time.sleep(0.01)
    assert "tube" not in translator.vocabulary().entries and translator("sonde") != ("tube",)
    fresh = InducedTranslator(_embed, lambda: documents[0], k=2)
    fresh.renew()
    assert fresh._vocabulary is None  # never used: nothing built
