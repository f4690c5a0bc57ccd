"""Pseudo-relevance feedback (#14 item 5, fourth round: search_api/feedback.py): the feedback words of
fixed passages, the text a negation leaves out, Rocchio, and the engine's second pass on a small
English index (what the words are, which documents they bring in, and that the default changes nothing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine_support import engine_over_reports, record_dense_queries
from indexer.settings import Settings
from search_api.feedback import TermStatistics, expansion_terms, query_stems, rocchio, searched_text
from search_api.models import SearchRequest


def _statistics(counts: dict[str, int], total: int = 100) -> TermStatistics:
    return TermStatistics(lambda words, language: {w: counts.get(w, 0) for w in words}, lambda: total)


def test_feedback_words_are_frequent_in_the_results_and_rare_in_the_index() -> None:
    passages = [("Elevated right hemidiaphragm. Normal heart size.", "en"),
                ("Elevated hemidiaphragm, heart normal.", "en"),
                ("Heart size normal, lungs clear.", "en")]
    counts = {"elevated": 5, "hemidiaphragm": 4, "normal": 90, "heart": 80, "size": 60, "right": 30, "lungs": 50, "clear": 50}
    found = expansion_terms(passages, frozenset(), _statistics(counts), limit=3, weight=0.3)
    assert [w for w, _ in found] == ["hemidiaphragm", "elevated", "heart"]  # "normal": in all three, but in 90 % of the index
    assert found[0][1] == 0.3 and 0 < found[2][1] < found[1][1] < 0.3
    # a word of a single result is no feedback ("right"); the query's own words are left out
    assert "right" not in dict(expansion_terms(passages, frozenset(), _statistics(counts), limit=10))
    own = query_stems(["hemidiaphragms"])
    assert "hemidiaphragm" not in dict(expansion_terms(passages, own, _statistics(counts), limit=10))
    # stop words are never proposed
    assert "the" not in dict(expansion_terms([("the the the elevated", "en")] * 2, frozenset(), _statistics(counts), limit=10))
    # a word no language's count has (a document of no analysed language) counts as in the results only
    assert [w for w, _ in expansion_terms(passages, frozenset(), _statistics({}), limit=2)] == ["heart", "normal"]
    assert expansion_terms([], frozenset(), _statistics(counts)) == []


def test_term_statistics_are_memoised_until_cleared() -> None:
    calls: list[tuple[str, ...]] = []
    stats = TermStatistics(lambda words, language: (calls.append(tuple(words)), {w: 1 for w in words})[1], lambda: 7)
    assert stats.passages(["a", "b"], "en") == {"a": 1, "b": 1}
    assert stats.passages(["b", "c"], "en") == {"b": 1, "c": 1}
    assert calls == [("a", "b"), ("c",)] and stats.total() == 7
    stats.clear()
    stats.passages(["a"], "en")
    assert calls[-1] == ("a",)


def test_searched_text_drops_the_statuses_not_searched() -> None:
    text = "No pneumothorax or pleural effusion. Heart size is normal. Possible small nodule."
    mentions = '{"s":[[0,36],[37,58],[59,81]],"c":[[0,35,"negated"],[59,80,"hypothetical"]]}'
    kept = searched_text(text, mentions, ("affirmed", "hypothetical"))
    assert "pneumothorax" not in kept and "Heart size is normal." in kept and "nodule" in kept
    assert "nodule" not in searched_text(text, mentions, ("affirmed",))
    assert searched_text(text, None, ("affirmed",)) == text


def test_rocchio_moves_the_query_towards_the_results() -> None:
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    moved = rocchio(query, np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32), 1.0)
    assert np.linalg.norm(moved) == pytest.approx(1.0)
    assert moved == pytest.approx(np.array([1.0, 0.5, 0.5]) / np.linalg.norm([1.0, 0.5, 0.5]))
    assert rocchio(query, np.zeros((0, 3), dtype=np.float32), 1.0) is query


REPORTS = {
    "A": "Sternotomy wire intact. Elevated hemidiaphragm.",
    "B": "Elevated hemidiaphragm, otherwise unremarkable.",
    "C": "Wire fragments near the elevated hemidiaphragm.",
    "D": "Heart size within limits.",
    "E": "Lungs are clear bilaterally.",
}
QUERY = "wire zorglub"  # "zorglub": a word no document has, the case feedback is for


@pytest.fixture(scope="module")
def engine(tmp_path_factory):  # noqa: ANN001, ANN201
    # the dense leg of the hash encoder is noise: weight 0, so the first pass is the lexical leg's
    return engine_over_reports(tmp_path_factory.mktemp("feedback"), REPORTS,
                               search={"lexical_weight": 1.0, "dense_weight": 0.0, "language_weights": {},
                                       "feedback_lexical": False, "feedback_languages": [], "feedback_documents": 2})


def _lexical_order(response) -> list[str]:  # noqa: ANN001
    ranked = sorted((r.explanation.lexical_rank, _ids_one(r)) for r in response.results if r.explanation.lexical_rank)
    return [doc for _, doc in ranked]


def _ids_one(result) -> str:  # noqa: ANN001
    return Path(result.id.split(":", 1)[1]).stem


def test_shipped_feedback_is_lexical_for_french_queries_with_an_unknown_word() -> None:
    defaults = Settings().search
    assert defaults.feedback_lexical and not defaults.feedback_dense
    assert (defaults.feedback_languages, defaults.feedback_when) == (["fr"], "unknown_words")


def test_feedback_off_leaves_results_identical(engine, monkeypatch) -> None:  # noqa: ANN001
    before = engine.search(SearchRequest(q=QUERY, limit=10))

    def fail(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("no feedback pass when it is off")

    monkeypatch.setattr(engine.backend, "lexical_search_expanded", fail)
    monkeypatch.setattr(engine.backend, "passage_vectors", fail)
    after = engine.search(SearchRequest(q=QUERY, limit=10))
    assert [r.model_dump() for r in after.results] == [r.model_dump() for r in before.results]
    assert _lexical_order(before) == ["A", "C"] or _lexical_order(before) == ["C", "A"]


def test_lexical_feedback_adds_the_results_words_and_brings_in_their_documents(engine, monkeypatch) -> None:  # noqa: ANN001
    plan = engine.plan(SearchRequest(q=QUERY))
    assert engine.unknown_words(plan) == ["zorglub"]
    assert engine.unknown_words(engine.plan(SearchRequest(q="wire"))) == []
    before = engine.search(SearchRequest(q=QUERY, limit=10))
    first = _lexical_order(before)
    assert sorted(first) == ["A", "C"]  # only the documents with "wire"
    pids = engine.backend.lexical_search(plan.lexical_text, 10, concepts=plan.concepts)
    words = dict(engine.feedback_expansion(plan, [h.pid for h in pids]))
    assert {"elevated", "hemidiaphragm"} <= set(words) and max(words.values()) == pytest.approx(0.3)
    assert "wire" not in words and "zorglub" not in words
    monkeypatch.setattr(engine.settings, "feedback_lexical", True)
    after = engine.search(SearchRequest(q=QUERY, limit=10))
    assert _lexical_order(after)[:2] == first  # the typed word still ranks first
    assert _lexical_order(after)[2:] == ["B"]  # B has the feedback words only; D and E have neither
    assert after.total == before.total == 2  # the exact total counts the query's own terms
    # a query with no unknown word gets no feedback pass (feedback_when: unknown_words) ...
    known = engine.search(SearchRequest(q="wire", limit=10))
    assert sorted(_lexical_order(known)) == ["A", "C"]
    # ... unless told to (always)
    monkeypatch.setattr(engine.settings, "feedback_when", "always")
    assert _lexical_order(engine.search(SearchRequest(q="wire", limit=10)))[2:] == ["B"]
    # and a language not listed gets none
    monkeypatch.setattr(engine.settings, "feedback_languages", ["fr"])
    assert _lexical_order(engine.search(SearchRequest(q=QUERY, limit=10))) == first


def test_dense_feedback_searches_the_moved_vector(engine, monkeypatch) -> None:  # noqa: ANN001
    seen = record_dense_queries(engine, monkeypatch)
    monkeypatch.setattr(engine.settings, "feedback_dense", True)
    engine.search(SearchRequest(q=QUERY, limit=10))
    assert len(seen) == 2  # the first pass, then the feedback pass
    plan = engine.plan(SearchRequest(q=QUERY))
    top = [h.pid for h in engine.backend.lexical_search(plan.lexical_text, 10, concepts=plan.concepts)]
    vectors = engine.backend.passage_vectors(top[:2])
    assert vectors.shape == (2, seen[0].shape[-1])
    assert seen[1] == pytest.approx(rocchio(seen[0], vectors, engine.settings.feedback_dense_weight), abs=1e-5)
