"""The HTTP API with FastAPI's TestClient over the fixture index: rankings, filters, errors, audit.

The client authenticates as a clinician (issue #12: every data endpoint needs an identity; the
``X-User`` header these tests used to send identifies no one any more)."""

from __future__ import annotations

import pytest
from auth_support import auth
from fastapi.testclient import TestClient

from search_api.app import create_app
from conftest import ART_T01, FIG_T01, IMG_T001, RPT_T001, RPT_T002, RPT_T003

USER = auth("clinician", "dr.martin")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder), headers=USER)


@pytest.fixture(scope="module")
def anonymous(client: TestClient) -> TestClient:
    return TestClient(client.app)


def ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_french_finding_ranks_its_report_first(client: TestClient) -> None:
    response = client.get("/search", params={"q": "épanchement pleural"}, headers=USER)
    found = ids(response)
    # the French report, its CT image, and the English article and figure on pleural effusion
    # (reached through the lexicon's French→English expansion) all come before unrelated documents
    assert set(found[:4]) == {RPT_T001, IMG_T001, ART_T01, FIG_T01}
    reports = ids(client.get("/search", params={"q": "épanchement pleural", "kinds": "report"}))
    assert reports[0] == RPT_T001
    first = client.get("/search", params={"q": "épanchement pleural", "kinds": "report"}).json()["results"][0]
    assert "<mark>Épanchement</mark> <mark>pleural</mark>" in first["snippet"]
    assert first["url"] == f"/documents/{RPT_T001}"
    assert first["explanation"]["lexical_rank"] == 1


def test_accentless_query_matches_accented_text(client: TestClient) -> None:
    assert ids(client.get("/search", params={"q": "epanchement pleural", "kinds": "report"}))[0] == RPT_T001


def test_english_query_finds_french_report_cross_lingually(client: TestClient) -> None:
    # No English word of the query occurs in the French letter on « infarctus du myocarde »: without
    # the lexicon, only the multilingual dense leg can rank it first...
    response = client.get("/search", params={"q": "heart attack", "kinds": "report", "expand": False})
    assert ids(response)[0] == RPT_T003
    assert response.json()["results"][0]["explanation"]["lexical_rank"] is None
    # ...and with it, the lexical leg finds it too, and says which concept it expanded.
    expanded = client.get("/search", params={"q": "heart attack", "kinds": "report"}).json()
    assert expanded["results"][0]["id"] == RPT_T003
    assert expanded["results"][0]["explanation"]["lexical_rank"] == 1
    assert [t["concept_id"] for t in expanded["expanded_terms"]] == ["myocardial_infarction"]


def test_patient_filter_returns_only_that_patient(client: TestClient) -> None:
    results = client.get("/search", params={"q": "épanchement", "patient_id": "P900001"}).json()["results"]
    assert results and {r["patient_id"] for r in results} == {"P900001"}
    assert {r["id"] for r in results} == {RPT_T001, IMG_T001}


def test_kind_and_date_and_language_filters(client: TestClient) -> None:
    kinds = client.get("/search", params={"q": "pleural", "kinds": ["article", "image"]}).json()["results"]
    assert {r["kind"] for r in kinds} <= {"article", "image"} and kinds
    dated = client.get("/search", params={"q": "fracture", "date_from": "2024-05-01", "date_to": "2024-05-31"})
    assert ids(dated) == [RPT_T002]
    english = client.get("/search", params={"q": "stroke", "language": "en"}).json()["results"]
    assert english and {r["language"] for r in english} == {"en"}


def test_post_search_and_pagination(client: TestClient) -> None:
    body = {"q": "pleural", "limit": 2, "mode": "lexical"}
    page1 = client.post("/search", json=body).json()
    page2 = client.post("/search", json={**body, "offset": 2}).json()
    assert len(page1["results"]) == 2 and page1["mode"] == "lexical"
    assert not {r["id"] for r in page1["results"]} & {r["id"] for r in page2["results"]}
    assert page1["total"] == page2["total"] >= 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "empty"),
        ({"q": "   "}, "empty"),
        ({"q": "x" * 1001}, "too long"),
        ({"q": "ok", "kinds": "video"}, "Input should be"),
        ({"q": "ok", "limit": 0}, "greater than or equal"),
        ({"q": "ok", "limit": 1000}, "less than or equal"),
        ({"q": "ok", "date_from": "2024-13-45"}, "date"),
        ({"q": "ok", "date_from": "2024-06-01", "date_to": "2024-01-01"}, "date_from must be on or before"),
    ],
)
def test_bad_queries_get_422_with_a_message(client: TestClient, params: dict, message: str) -> None:
    response = client.get("/search", params=params)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])


def test_missing_q_and_bad_post_body(client: TestClient) -> None:
    assert client.get("/search").status_code == 422
    assert client.post("/search", json={"q": ""}).status_code == 422
    assert client.post("/search", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    lone_surrogate = client.post("/search", content=b'{"q": "embolie \\ud800"}', headers={"content-type": "application/json"})
    assert lone_surrogate.status_code == 422 and "invalid character" in str(lone_surrogate.json()["detail"])


@pytest.mark.parametrize("path", ["/search", "/search/patients"])
def test_misspelt_post_filter_is_refused_not_ignored(client: TestClient, path: str) -> None:
    """« patientId » for « patient_id » was dropped in silence: the search ran over every patient."""
    assert client.post(path, json={"q": "épanchement", "patient_id": "P900001"}).status_code == 200
    response = client.post(path, json={"q": "épanchement", "patientId": "P900001"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "patientId"], "extra_forbidden")


def test_document_read_requires_user_and_is_audited(client: TestClient, anonymous: TestClient, indexed) -> None:
    assert anonymous.get(f"/documents/{RPT_T001}").status_code == 401
    assert anonymous.get(f"/documents/{ART_T01}").status_code == 401  # every data endpoint needs an identity
    response = client.get(f"/documents/{RPT_T001}")
    assert response.status_code == 200
    body = response.json()
    assert body["patient_id"] == "P900001" and body["sections"][-1]["title"] == "CONCLUSION"
    assert client.get(f"/documents/{ART_T01}").status_code == 200
    assert client.get("/documents/NOPE").status_code == 404
    audit = client.app.state.audit.entries()
    reads = [e for e in audit if e["action"] == "document_read" and e["document_id"] == RPT_T001]
    assert reads and reads[-1]["user"] == "dr.martin" and reads[-1]["role"] == "clinician"
    assert reads[-1]["patient_id"] == "P900001"
    assert any(e["action"] == "auth_failed" and e["path"] == f"/documents/{RPT_T001}" for e in audit)
    assert any(e["action"] == "search" and e["query"] == "épanchement pleural" for e in audit)


def test_health_stats_and_openapi(client: TestClient, anonymous: TestClient) -> None:
    assert anonymous.get("/health").json() == {"status": "ok"}
    assert client.get("/stats").status_code == 403  # stats are the admins'
    stats = client.get("/stats", headers=auth("admin", "it.ops")).json()
    assert stats["documents"] == 9 and stats["by_kind"]["report"] == 4 and stats["encoder"] == "usem3"
    assert stats["index_age_seconds"] >= 0
    assert "/search" in anonymous.get("/openapi.json").json()["paths"]  # the schema holds no patient data
    assert anonymous.get("/docs").status_code == 200


def test_missing_index_answers_503(tmp_path, encoder) -> None:
    from indexer.settings import Settings

    app = create_app(Settings(index={"dir": tmp_path / "none"}, api={"audit_log": tmp_path / "a.log"}), encoder=encoder)
    response = TestClient(app).get("/search", params={"q": "x"}, headers=USER)
    assert response.status_code == 503 and "medsearch index" in response.json()["detail"]


def test_x_user_identifies_no_one_and_token_names_are_audited(anonymous: TestClient) -> None:
    assert anonymous.get(f"/documents/{RPT_T002}", headers={"X-User": "Pr Imposteur"}).status_code == 401
    assert anonymous.get("/search", params={"q": "fracture"}, headers={"X-User": "Pr Imposteur"}).status_code == 401
    anonymous.get(f"/documents/{RPT_T002}", headers=auth("clinician", "Dr Hélène"))
    entries = anonymous.app.state.audit.entries()
    last = entries[-1]
    assert (last["user"], last["document_id"]) == ("Dr Hélène", RPT_T002)
    assert not any(e["user"] == "Pr Imposteur" for e in entries)
