"""A search's « N documents · M patients » stays exact after the lean lexical path (#14 item 3).

``SearchEngine.search`` now takes ``total`` and ``total_patients`` from the lexical call's own pass over
its matches (:meth:`IndexBackend.lexical_search_counted`). The reference here is computed another
way: the backend's unranked match set (:meth:`IndexBackend.lexical_matching_documents`), each
document read in full and its patient normalised by :class:`DocumentKeys`, for every filter of
``test_filters`` (access scopes included), in every mode and at any page.
"""

from __future__ import annotations

import pytest

from indexer.backend.filters import DocumentFilter, DocumentKeys
from search_api.models import SearchRequest
from search_api.query_plan import plan_query
from test_filters import BROAD_QUERY, FILTERS

QUERIES = [
    BROAD_QUERY,
    "épanchement pleural",
    "pleural effusion",
    "pneumothorax sans épanchement pleural",
    "fracture",
    "infarctus du myocarde",
    "zzzunknownword",
]
MATCHING = {"épanchement pleural", "pleural effusion", "fracture"}
WHERES = [DocumentFilter(), *(where for where, _ in FILTERS)]


@pytest.fixture(scope="module")
def engine(indexed, encoder):
    from search_api.engine_factory import build_engine

    return build_engine(indexed[0], encoder)


def _reference(engine, q: str, where: DocumentFilter) -> tuple[int, int]:  # noqa: ANN001
    plan = plan_query(SearchRequest(q=q))
    if not (plan.lexical_text.strip() or plan.concepts or plan.required):
        return 0, 0
    doc_ids = engine.backend.lexical_matching_documents(
        plan.lexical_text, where, plan.lexical_statuses, plan.concepts, plan.required
    )
    documents = engine.backend.get_documents(sorted(doc_ids))
    patients = {DocumentKeys.of(doc).patient for doc in documents.values()} - {None}
    return len(doc_ids), len(patients)


@pytest.mark.parametrize("q", QUERIES)
def test_totals_are_exact_in_every_mode_filter_and_page(engine, q: str) -> None:
    nonzero = 0
    for where in WHERES:
        expected = _reference(engine, q, where)
        nonzero += expected[0] > 0
        for mode in ("lexical", "hybrid", "dense"):
            for limit, offset in ((10, 0), (1, 0), (3, 2)):
                response = engine.search(SearchRequest(q=q, mode=mode, limit=limit, offset=offset), where)
                assert (response.total, response.total_patients) == expected, (q, where, mode, limit, offset)
                assert response.term_match is (expected[0] > 0)
    if q in MATCHING:
        assert nonzero > 0, "the query should match something under some filter"


def test_totals_cover_at_least_the_shown_page(engine) -> None:
    """The page is part of the total: its documents and their patients are all counted."""
    response = engine.search(SearchRequest(q="épanchement pleural", mode="lexical"))
    shown = engine.backend.get_documents([r.id for r in response.results])
    assert response.total >= len(response.results) > 0
    assert response.total_patients >= len({DocumentKeys.of(d).patient for d in shown.values()} - {None}) >= 1


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "dense"])
def test_results_are_well_typed_models(engine, mode: str) -> None:
    """Each result equals what validating its own fields gives (types included: the kind enum, dates,
    Python floats, defaults left unset), and the response serialises without pydantic warnings: a
    guard for any cheaper way of building results (``model_construct`` was measured slower here)."""
    import warnings

    from search_api.models import MatchExplanation, SearchResult

    seen = 0
    for q in QUERIES:
        response = engine.search(SearchRequest(q=q, mode=mode, limit=50))
        for result in response.results:
            fields = {name: getattr(result, name) for name in SearchResult.model_fields}
            assert SearchResult.model_validate(fields) == result, (q, result.id)
            assert type(result.score) is float and type(result.kind).__name__ == "DocumentKind"
            assert MatchExplanation.model_validate(result.explanation.model_dump()) == result.explanation
            assert type(result.explanation.dense_similarity) in (float, type(None))
            if result.kind.value != "image":  # what validation records as set, defaults left unset
                unset = {"methods", "linked_reports", "caption", "thumbnail_url"} | (set() if result.relatives else {"relatives"})
                assert result.model_fields_set == set(fields) - unset  # relatives: set for a family mention only
            seen += 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            response.model_dump_json()
    assert seen > 10
