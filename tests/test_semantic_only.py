"""No silent noise (#14 item 6): a result the query's words do not occur in says so (``semantic_only``),
and a response where no result contains them says so as a whole, so the portal can show the dense leg's
suggestions as suggestions rather than as matches."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app
from search_api.models import MatchExplanation, SearchResponse, SearchResult


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


def test_words_found_nowhere_give_a_semantic_only_response(client: TestClient) -> None:
    body = client.get("/search", params={"q": "zygomycose xylophage"}, headers=auth()).json()
    assert body["results"], "the dense leg still suggests something"
    assert body["semantic_only"] is True
    assert all(r["semantic_only"] and not r["lexical_match"] for r in body["results"])


def test_matching_words_flag_the_results_that_contain_them(client: TestClient) -> None:
    body = client.get("/search", params={"q": "épanchement pleural"}, headers=auth()).json()
    assert body["semantic_only"] is False
    flags = {r["id"]: r["lexical_match"] for r in body["results"]}
    lexical = [r["id"] for r in client.get("/search", params={"q": "épanchement pleural", "mode": "lexical"}, headers=auth()).json()["results"]]
    assert lexical and all(flags[doc] for doc in lexical if doc in flags)
    assert all(r["semantic_only"] == (not r["lexical_match"]) for r in body["results"])


def test_flags_follow_the_explanation() -> None:
    def result(rank: int | None, methods: list[str] | None = None) -> SearchResult:
        return SearchResult(id="d", kind="report", title="t", date=None, patient_id=None, language="fr", modality=None,
                            score=1.0, snippet="", section="", url="/d", methods=methods or [],
                            explanation=MatchExplanation(lexical_rank=rank, dense_rank=1))

    assert result(3).lexical_match and not result(None).lexical_match
    # an image found through its caption's *vector* is not a lexical match
    assert result(None, ["caption"]).semantic_only and result(None, ["descriptor"]).semantic_only
    empty = SearchResponse(query="q", mode="hybrid", total=0, took_ms=1.0, results=[])
    assert empty.semantic_only is False  # nothing returned: nothing to flag
    assert SearchResponse(query="q", mode="hybrid", total=1, took_ms=1.0, results=[result(None)]).semantic_only
