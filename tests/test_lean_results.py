"""Search results assembled the lean way equal the ones built result by result (#14 item 3).

A top-100 lexical page spent most of its Python in per-result work: a snippet per passage (regex
tokenisation, stored-mention lookup, marks) and two validated pydantic models per result. The
engine now judges a page's words once (:meth:`QueryMatcher.snippets`), validates the page's results
in one call, and collapses each leg through the backend (:func:`search_api.retrieval._collapse`). The
references below are the code as it was before that change (per-result models, the analyzers' own
tokenisation through :func:`match_spans`, the mention read from the text by
:func:`mention_context`, every HTML piece escaped); each test compares outputs on the fixture
corpus and on tricky texts: snippets (text, HTML, context), explanations, ranks, fields set.
"""

from __future__ import annotations


import pytest
from auth_support import auth
from fastapi.testclient import TestClient

from indexer.clinical.mentions import mention_index
from indexer.schema import DocumentKind
from search_api import retrieval
from search_api.models import MatchExplanation, SearchRequest, SearchResponse, SearchResult
from search_api.snippets import QueryMatcher, query_spans
from test_snippet_spans import EDGE_CASES, PHRASE_QUERIES, _texts, reference_snippet

QUERIES = [
    "épanchement pleural",
    "pleural effusion",
    "epanchement pleural",
    "pneumothorax sans épanchement pleural",
    "fracture",
    "infarctus du myocarde",
    "heart attack",
    "absence de fracture",
    "scanner thoracique",
    "zzzunknownword",
]

TRICKY = [
    "Pleural effusion <b>left</b> & right > 2 cm; pleural <script>alert(1)</script>",
    "a < b pleural & effusion",
    "pleural\u00a0effusion\u2028pleural\teffusion\r\npleural\x1cpleural\u3000effusions",
    "épanchement_pleural épanchement2 2épanchement ÉPANCHEMENT épanchements pleuraux-pleural",
    "Pas d'épanchement pleural. " * 30 + "Fracture du radius. " + "Épanchement pleural droit. " * 20,
    "x" * 400 + " fracture " + "y" * 400,
    "Absence de fracture. Suspicion d'épanchement pleural. Mère : infarctus du myocarde.",
    "No pleural effusion. Rule out fracture. Family history of myocardial infarction.",
    "fracture 日本語 fracture",
    *EDGE_CASES,
]


# -- the references: the code as it was --------------------------------------------------------
def _old_collapse(hits: list[tuple[int, float]], doc_of: dict[int, str]) -> tuple[list, dict, dict, dict]:
    doc_ids, best_pid, best_score, rank = [], {}, {}, {}
    for pid, score in hits:
        doc_id = doc_of.get(pid)
        if doc_id is None or doc_id in best_pid:
            continue
        doc_ids.append(doc_id)
        best_pid[doc_id], best_score[doc_id] = pid, score
        rank[doc_id] = len(doc_ids)
    return doc_ids, best_pid, best_score, rank


def _old_result(engine, document, score, rankings, passages, query, statuses=None) -> SearchResult:  # noqa: ANN001
    lexical, dense = rankings.get("lexical"), rankings.get("dense")
    text_legs = [r for r in (lexical, dense) if r and document.id in r.best_pid]
    passage = passages[text_legs[0].best_pid[document.id]] if text_legs else None
    clip = rankings.get("clip")
    snippet, context = reference_snippet(passage.text if passage else document.text, query, document.language,
                                         statuses=statuses)
    explanation = MatchExplanation(
        lexical_rank=lexical.rank.get(document.id) if lexical else None,
        dense_rank=dense.rank.get(document.id) if dense else None,
        dense_similarity=round(dense.best_score[document.id], 4) if dense and document.id in dense.best_score else None,
    )
    image = engine._image_fields(document, lexical, dense, clip, passages) if document.kind == DocumentKind.IMAGE else {}
    return SearchResult(
        id=document.id, kind=document.kind, title=document.title, date=document.date,
        patient_id=document.patient_id, language=document.language, modality=document.modality,
        score=round(score, 6), snippet=snippet, context=context,
        section=passage.section if passage else "", url=f"/documents/{document.id}",
        explanation=explanation, **image,
    )


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(indexed, encoder):
    from search_api.engine_factory import build_engine

    return build_engine(indexed[0], encoder)


def _fields_set(model) -> object:  # noqa: ANN001
    """Which fields were given, recursively (what ``exclude_unset`` serialises)."""
    if isinstance(model, list):
        return [_fields_set(m) for m in model]
    if hasattr(model, "model_fields_set"):
        return (type(model).__name__, sorted(model.model_fields_set),
                {name: _fields_set(getattr(model, name)) for name in sorted(model.model_fields_set)})
    return None


# -- tests ------------------------------------------------------------------------------------
def test_page_snippets_equal_the_per_passage_reference(source_folder) -> None:  # noqa: ANN001
    texts = [*_texts(source_folder), *TRICKY]
    pages = [texts, TRICKY, texts[:5], [t for t in texts if t.isascii()], [EDGE_CASES[-1]] * 3]
    marked = 0
    for query in [*QUERIES, "de la", "a ab abc", "fracture 2e", "pleural pleura effusion", "日本語", *PHRASE_QUERIES]:
        matcher = QueryMatcher(query)
        for _ in range(2):  # the second pass answers from the chunks judged in the first
            for page in pages:
                for language in (None, "fr", "en"):
                    got = matcher.snippets([(text, language, None) for text in page])
                    stored = matcher.snippets([(text, language, mention_index(text, language)) for text in page])
                    expected = [reference_snippet(text, query, language) for text in page]
                    assert got == expected, (query, language)
                    assert stored == expected, (query, language)
                    marked += sum("<mark>" in h for h, _ in expected)
                    assert [matcher.spans(text) for text in page] == [query_spans(text, query) for text in page]
    assert marked > 100  # the comparison covered real highlights


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "dense"])
def test_search_results_equal_per_result_models(engine, monkeypatch, mode: str) -> None:  # noqa: ANN001
    """The very page the engine assembles, compared with the old per-result models built from the
    same inputs (rankings, documents, passages, query): every field, the fields set, the order."""
    seen: list[tuple] = []
    original = engine._results

    def capture(page, documents, rankings, passages, query, statuses):  # noqa: ANN001, ANN202
        rows = original(page, documents, rankings, passages, query, statuses)
        seen.append((page, documents, rankings, passages, query, statuses))
        return rows

    monkeypatch.setattr(engine, "_results", capture)
    checked = marks = 0
    for q in QUERIES:
        for limit, offset, negated in ((10, 0, False), (100, 0, False), (3, 2, True), (5, 0, True)):
            request = SearchRequest(q=q, mode=mode, limit=limit, offset=offset, include_negated=negated)
            response = engine.search(request)
            page, documents, rankings, passages, query, statuses = seen.pop()
            expected = [_old_result(engine, documents[d], s, rankings, passages, query, statuses) for d, s in page if d in documents]
            assert [r.model_dump() for r in response.results] == [r.model_dump() for r in expected], (q, mode, limit)
            assert _fields_set(response.results) == _fields_set(expected)
            rebuilt = SearchResponse(**{**response.model_dump(exclude={"results"}), "results": expected})
            assert response.model_dump_json() == rebuilt.model_dump_json()
            checked += len(expected)
            marks += sum("<mark>" in r.snippet for r in expected)
    assert checked > 50 and (marks > 10 or mode == "dense")


def test_collapse_in_the_engine_equals_the_loop(engine, monkeypatch) -> None:  # noqa: ANN001
    calls = 0
    original = retrieval._collapse

    def checked(hits, backend):  # noqa: ANN001, ANN202
        nonlocal calls
        calls += 1
        ranking = original(hits, backend)
        doc_of = backend.documents_of([pid for pid, _ in hits])
        assert (ranking.doc_ids, ranking.best_pid, ranking.best_score, ranking.rank) == _old_collapse(
            [(pid, score) for pid, score in hits], doc_of)
        return ranking

    monkeypatch.setattr(retrieval, "_collapse", checked)
    for q in QUERIES:
        engine.search(SearchRequest(q=q, mode="hybrid", limit=20))
    assert calls >= 2 * len(QUERIES) - 2


def test_api_serialises_the_page_as_the_models_do(indexed, encoder, engine, monkeypatch) -> None:  # noqa: ANN001
    """Through the API: the JSON FastAPI writes equals the old per-result models' serialisation for
    the same request, and the page is validated exactly once (in the engine: the response model
    takes the validated instances as they are)."""
    from search_api.app import create_app

    settings, _ = indexed
    client = TestClient(create_app(settings, encoder=encoder), headers=auth("clinician", "dr.martin"))
    validations = 0
    original = retrieval._validated_results

    def counting(rows):  # noqa: ANN001, ANN202
        nonlocal validations
        validations += 1
        return original(rows)

    seen: list[tuple] = []
    engine_results = engine._results

    def capture(*args):  # noqa: ANN002, ANN202
        seen.append(args)
        return engine_results(*args)

    monkeypatch.setattr(engine, "_results", capture)
    monkeypatch.setattr(retrieval, "_validated_results", counting)
    for q in ("épanchement pleural", "fracture", "heart attack"):
        for mode in ("lexical", "hybrid"):
            validations = 0
            body = client.get("/search", params={"q": q, "mode": mode, "limit": 100}).json()
            assert validations == 1, (q, mode)
            engine.search(SearchRequest(q=q, mode=mode, limit=100))
            page, documents, rankings, passages, query, statuses = seen.pop()
            monkeypatch.setattr(retrieval, "_validated_results", original)
            expected = [_old_result(engine, documents[d], s, rankings, passages, query, statuses) for d, s in page if d in documents]
            monkeypatch.setattr(retrieval, "_validated_results", counting)
            assert body["results"], (q, mode)
            assert body["results"] == [r.model_dump(mode="json") for r in expected], (q, mode)


def test_leg_views_and_page_passages_equal_the_mapping_reads(engine, monkeypatch) -> None:  # noqa: ANN001
    """A leg's views read the way :class:`Mapping` read them (``get`` without Mapping's two frames
    and a ``try``; ``present`` in C), and the page's passages (:func:`retrieval._page_pids`) are the
    set the per-result comprehension gave, sorted: in every mode, with an id no leg ranks."""
    from collections.abc import Mapping

    seen: list[tuple] = []
    original = engine._results

    def capture(page, documents, rankings, passages, query, statuses):  # noqa: ANN001, ANN202
        seen.append((page, rankings, passages))
        return original(page, documents, rankings, passages, query, statuses)

    monkeypatch.setattr(engine, "_results", capture)
    columns = reads = 0
    for q in QUERIES:
        for mode in ("lexical", "hybrid", "dense"):
            engine.search(SearchRequest(q=q, mode=mode, limit=20, offset=1))
            page, rankings, passages = seen.pop()
            ids = [doc_id for doc_id, _ in page] + ["no-such-document"]
            expected = sorted({r.best_pid[d] for d in ids for r in rankings.values() if d in r.best_pid})
            assert retrieval._page_pids(rankings, ids) == expected, (q, mode)
            assert set(expected) <= passages.keys()
            for ranking in rankings.values():
                for view in (ranking.best_pid, ranking.best_score, ranking.rank):
                    assert [view.get(d) for d in ids] == [Mapping.get(view, d) for d in ids], (q, mode)
                    assert [view.get(d, -1) for d in ids] == [Mapping.get(view, d, -1) for d in ids], (q, mode)
                    reads += sum(d in view for d in ids)
                if isinstance(ranking.best_pid, retrieval._Column):
                    best = ranking.best_pid
                    assert best.present(ids) == [best[d] for d in ids if d in best]
                    assert ranking.best_score.present(ids[::-1]) == [ranking.best_score[d] for d in ids[::-1] if d in best]
                    columns += 1
    assert columns > 2 * len(QUERIES) and reads > 100
