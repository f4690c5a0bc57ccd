"""Clinical language through the API: negated mentions, « sans X » queries, expansion, snippet context."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from indexer.pipeline import passage_contexts
from indexer.schema import Document, DocumentKind, Passage
from search_api.app import create_app
from conftest import IMG_T001, REC_P900003, RPT_T001, RPT_T003
from auth_support import auth


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder), headers=auth("clinician"))


def lexical_ids(client: TestClient, **params) -> list[str]:  # noqa: ANN003
    response = client.get("/search", params={"mode": "lexical", **params})
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_negated_mention_is_not_a_hit_by_default(client: TestClient) -> None:
    # RPT-T001 says « Pas de pneumothorax »: a keyword engine would return it for "pneumothorax".
    assert RPT_T001 not in lexical_ids(client, q="pneumothorax")
    assert RPT_T001 in lexical_ids(client, q="pneumothorax", include_negated=True)
    assert RPT_T001 in lexical_ids(client, q="pneumothorax", clinical=False)


def test_query_for_absent_finding_returns_negated_mentions(client: TestClient) -> None:
    body = client.get("/search", params={"q": "sans embolie pulmonaire", "kinds": "report"}).json()
    assert body["interpretation"] == {"polarity": "negated", "affirmed_terms": [], "negated_terms": ["embolie pulmonaire"], "family_terms": [],
                                      "cognates": {}, "ignored_terms": [], "compared_value": None}
    assert [r["id"] for r in body["results"]] == [RPT_T001]
    assert body["results"][0]["context"] == "negated"
    assert "<mark>embolie</mark>" in body["results"][0]["snippet"]
    english = client.get("/search", params={"q": "patients without pulmonary embolism", "kinds": "report"}).json()
    assert [r["id"] for r in english["results"]] == [RPT_T001]


def test_mixed_query_requires_both_parts(client: TestClient) -> None:
    # pleural effusion affirmed AND pulmonary embolism negated: only RPT-T001 (and its image) qualify
    found = lexical_ids(client, q="épanchement pleural sans embolie pulmonaire")
    assert set(found) == {RPT_T001, IMG_T001}


def test_abbreviation_is_expanded_and_shown(client: TestClient) -> None:
    body = client.get("/search", params={"q": "IDM", "mode": "lexical"}).json()
    assert {r["id"] for r in body["results"][:2]} == {RPT_T003, REC_P900003}
    [term] = body["expanded_terms"]
    assert term["concept_id"] == "myocardial_infarction" and not term["ambiguous"]
    assert "infarctus du myocarde" in [t.lower() for t in term["terms"]]
    assert lexical_ids(client, q="IDM", expand=False) == [REC_P900003]  # only the record spells « IDM »


def test_ambiguous_abbreviation_is_flagged_with_every_sense(client: TestClient) -> None:
    terms = client.get("/search", params={"q": "IR"}).json()["expanded_terms"]
    assert {t["concept_id"] for t in terms} == {"renal_failure", "respiratory_failure"}
    assert all(t["ambiguous"] for t in terms)


def test_family_history_section_is_family_not_affirmed() -> None:
    doc = Document(id="d", kind=DocumentKind.REPORT, language="fr")
    passage = Passage(doc_id="d", ordinal=0, section="Antécédents familiaux", text="Mère décédée d'un AVC.")
    contexts = passage_contexts(doc, passage)
    assert "AVC" in contexts["family"] and "AVC" not in contexts.get("affirmed", "")
    scoped = passage_contexts(doc, Passage(doc_id="d", ordinal=0, text="Pas de fracture mais une luxation."))
    assert "fracture" in scoped["negated"] and "luxation" in scoped["affirmed"]


def test_snippet_skips_stop_words_and_labels_the_finding_context() -> None:
    from search_api.snippets import contextual_snippet

    snippet = contextual_snippet(
        "Douleur thoracique avec sueurs. Infarctus du myocarde à éliminer.",
        "IDM infarctus avec sus-décalage du segment ST infarctus du myocarde",
        "fr",
    )
    assert "<mark>avec</mark>" not in snippet.html and "<mark>du</mark>" not in snippet.html
    assert "<mark>Infarctus</mark> du <mark>myocarde</mark>" in snippet.html
    assert snippet.context == "hypothetical"
