"""Patient view, timeline, results grouped by patient, exact totals and offline API docs, over the
fixture index (P900001: chest CT report + its image; P900002: hip fracture; P900003: FHIR record
+ cardiology letter in the same stay; P900004: English brain MRI)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from conftest import IMG_T001, REC_P900003, RPT_T001, RPT_T002, RPT_T003
from search_api.app import create_app
from search_api.image_results import image_url
from search_api.models import SearchRequest
from search_api.query_plan import plan_query
from auth_support import auth

USER = auth("clinician", "dr.martin")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


def test_patient_identity_comes_from_the_fhir_record(client: TestClient) -> None:
    body = client.get("/patients/P900003", headers=USER).json()
    assert body["patient_id"] == "P900003"
    identity = body["identity"]
    assert (identity["name"], identity["birth_date"], identity["sex"]) == ("Jean EXEMPLE", "1962-02-11", "male")
    today = dt.date.today()
    assert identity["age"] == today.year - 1962 - ((today.month, today.day) < (2, 11))
    assert identity["age_on"] == today.isoformat()  # a clinician's: age today
    assert body["by_kind"] == {"record": 1, "report": 1}
    assert [s["id"] for s in body["stays"]] == ["E1"]
    assert body["stays"][0]["start"] == "2024-06-18" and body["stays"][0]["reason"] == "Syndrome coronarien aigu"
    assert body["departments"] == ["Cardiologie"]


def test_patient_without_record_takes_sex_from_the_dicom_header(client: TestClient) -> None:
    body = client.get("/patients/P900001", headers=USER).json()
    assert body["identity"]["sex"] == "male" and body["identity"]["birth_date"] is None
    assert body["by_kind"] == {"image": 1, "report": 1}


def test_patient_endpoints_need_a_user_and_a_visible_patient(client: TestClient) -> None:
    assert client.get("/patients/P900003").status_code == 401
    assert client.get("/patients/P999999", headers=USER).status_code == 404
    assert client.get("/patients/P999999/timeline", headers=USER).status_code == 404


def test_timeline_groups_by_stay_marks_query_matches_and_filters_kinds(client: TestClient) -> None:
    body = client.get("/patients/P900003/timeline", params={"q": "infarctus du myocarde"}, headers=USER).json()
    assert body["total"] == 2
    stay_group = body["groups"][0]
    assert stay_group["stay"]["id"] == "E1"
    assert {e["id"] for e in stay_group["entries"]} == {RPT_T003, REC_P900003}
    letter = next(e for e in stay_group["entries"] if e["id"] == RPT_T003)
    assert letter["matched"] and "<mark>" in letter["snippet"] and letter["age"] == 62
    assert body["matched"] == sum(e["matched"] for g in body["groups"] for e in g["entries"] if not e["entry"]) >= 1
    # the record's own dated entries are timeline lines too, marked when their text matches
    entries = [e for g in body["groups"] for e in g["entries"] if e["entry"]]
    assert {e["entry"] for e in entries} == {"Problème", "Résultat", "Examen"}
    infarct = next(e for e in entries if e["entry"] == "Problème" and e["date"] == "2024-06-18")
    assert infarct["matched"] and "<mark>" in infarct["snippet"] and infarct["stay_id"] == "E1"
    diabetes = next(e for e in entries if e["date"] == "2015-01-01")
    assert not diabetes["matched"] and diabetes["stay_id"] is None and "Diabète" in diabetes["title"]
    assert body["groups"][-1]["stay"] is None  # 2015: outside any known stay, listed last
    unmatched = client.get("/patients/P900003/timeline", params={"q": "fracture"}, headers=USER).json()
    assert unmatched["matched"] == 0 and not any(e["matched"] for g in unmatched["groups"] for e in g["entries"])
    reports = client.get("/patients/P900003/timeline", params={"kinds": "report"}, headers=USER).json()
    assert [e["id"] for g in reports["groups"] for e in g["entries"]] == [RPT_T003]


def test_timeline_images_have_thumbnails_and_body_part(client: TestClient) -> None:
    body = client.get("/patients/P900001/timeline", headers=USER).json()
    image = next(e for g in body["groups"] for e in g["entries"] if e["kind"] == "image")
    assert image["thumbnail_url"] == image_url(IMG_T001, "thumbnail") and image["body_part"] == "CHEST"
    assert image["modality"] == "CT" and image["department"] == "Radiologie"


def _all_lexical_ids(client: TestClient, q: str) -> set[str]:
    found, offset = set(), 0
    while True:
        page = client.get("/search", params={"q": q, "mode": "lexical", "limit": 100, "offset": offset}, headers=USER).json()
        found |= {r["id"] for r in page["results"] if r["explanation"]["lexical_rank"] is not None}
        if len(page["results"]) < 100:
            return found
        offset += 100


@pytest.mark.parametrize("q", ["épanchement pleural", "fracture", "pleural"])
def test_search_total_is_exact_and_independent_of_the_page(client: TestClient, q: str) -> None:
    exact = _all_lexical_ids(client, q)
    totals = {
        (limit, offset): client.get("/search", params={"q": q, "limit": limit, "offset": offset}, headers=USER).json()["total"]
        for limit, offset in [(1, 0), (10, 0), (2, 2), (50, 0)]
    }
    assert set(totals.values()) == {len(exact)}, totals
    body = client.get("/search", params={"q": q}, headers=USER).json()
    assert body["term_match"] is True and body["total_patients"] >= 1


def test_query_without_any_term_match_says_so(client: TestClient) -> None:
    body = client.get("/search", params={"q": "xylophone"}, headers=USER).json()
    assert body["total"] == 0 and body["total_patients"] == 0 and body["term_match"] is False
    assert body["results"], "the dense leg still proposes neighbours"
    assert all(r["explanation"]["lexical_rank"] is None for r in body["results"])


def test_results_grouped_by_patient_with_exact_counts(client: TestClient) -> None:
    body = client.get("/search/patients", params={"q": "épanchement pleural"}, headers=USER).json()
    flat = client.get("/search", params={"q": "épanchement pleural"}, headers=USER).json()
    assert body["total"] == flat["total"] and body["total_patients"] == flat["total_patients"]
    assert body["patients"][0]["patient_id"] == "P900001"
    assert body["patients"][0]["matching_documents"] == 2  # the report and its CT image
    assert {h["id"] for h in body["patients"][0]["best"]} == {RPT_T001, IMG_T001}
    assert body["total_patients"] == len({p["patient_id"] for p in body["patients"]})
    assert all(p["patient_id"] for p in body["patients"])  # articles have no patient: not listed
    post = client.post("/search/patients", json={"q": "épanchement pleural", "limit": 1}, headers=USER).json()
    assert [p["patient_id"] for p in post["patients"]] == ["P900001"] and post["total"] == body["total"]


def test_family_history_has_its_own_switch() -> None:
    family_only = plan_query(SearchRequest(q="diabète", include_family=True))
    assert "family" in family_only.lexical_statuses and "negated" not in family_only.lexical_statuses
    negated_only = plan_query(SearchRequest(q="diabète", include_negated=True, include_family=False))
    assert "negated" in negated_only.lexical_statuses and "family" not in negated_only.lexical_statuses
    both = plan_query(SearchRequest(q="diabète", include_negated=True))  # the old switch still means both
    assert {"negated", "family"} <= set(both.lexical_statuses)


def test_api_docs_are_served_without_a_cdn(client: TestClient) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        assert "cdn.jsdelivr.net" not in html and f"/static-offline-docs/{asset}" in html
        served = client.get(f"/static-offline-docs/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/patients/{patient_id}", "/patients/{patient_id}/timeline", "/search/patients", "/cohorts",
            "/cohorts/{cohort_id}/export", "/saved-searches"} <= set(paths)


def test_report_and_image_link_both_ways(client: TestClient) -> None:
    image = client.get(f"/documents/{IMG_T001}/links", headers=USER).json()
    assert [r["id"] for r in image["reports"]] == [RPT_T001] and image["images"] == []
    report = client.get(f"/documents/{RPT_T001}/links", headers=USER).json()
    assert [i["id"] for i in report["images"]] == [IMG_T001]
    assert report["images"][0]["thumbnail_url"] == image_url(IMG_T001, "thumbnail")
    assert client.get(f"/documents/{RPT_T001}/links").status_code == 401
    assert client.get("/documents/NOPE/links", headers=USER).status_code == 404


def test_similar_documents_leave_the_document_out(client: TestClient) -> None:
    body = client.get(f"/documents/{RPT_T001}/similar", params={"limit": 3}, headers=USER).json()
    ids = [r["id"] for r in body["results"]]
    assert ids and RPT_T001 not in ids and len(ids) <= 3
    assert {r["kind"] for r in body["results"]} == {"report"}


def test_document_highlight_marks_terms_and_names_the_best_section(client: TestClient) -> None:
    body = client.get(f"/documents/{RPT_T001}/highlight", params={"q": "épanchement pleural"}, headers=USER).json()
    titles = [s["title"] for s in body["sections"]]
    assert body["best_section"] is not None and titles[body["best_section"]] in ("RÉSULTATS", "CONCLUSION")
    assert "<mark>Épanchement</mark> <mark>pleural</mark>" in body["sections"][body["best_section"]]["html"]
    plain = client.get(f"/documents/{RPT_T001}/highlight", headers=USER).json()
    assert plain["best_section"] is None and not any("<mark>" in s["html"] for s in plain["sections"])


def test_patient_id_is_case_insensitive(client: TestClient) -> None:
    assert client.get("/patients/p900003", headers=USER).json()["identity"]["name"] == "Jean EXEMPLE"
    flat = client.get("/search", params={"q": "fracture", "patient_id": "p900002"}, headers=USER).json()
    assert [r["id"] for r in flat["results"]][:1] == [RPT_T002] and flat["total"] == 1


def test_every_patient_view_applies_the_access_scope(client: TestClient) -> None:
    scoped = auth("clinician", "dr.restricted", patients=["P900001"])  # may only see patient P900001
    assert client.get("/patients/P900003", headers=scoped).status_code == 404
    assert client.get("/patients/P900003/timeline", headers=scoped).status_code == 404
    assert client.get("/patients/P900001", headers=scoped).status_code == 200
    grouped = client.get("/search/patients", params={"q": "infarctus"}, headers=scoped).json()
    assert grouped["total_patients"] == 0 and grouped["term_match"] is False  # P900003's letter is out of scope
    assert {p["patient_id"] for p in grouped["patients"]} <= {"P900001"}  # semantic neighbours, in scope only
    flat = client.get("/search", params={"q": "épanchement pleural"}, headers=scoped).json()
    assert {r["patient_id"] for r in flat["results"]} <= {"P900001", None}
    cohort = client.post("/cohorts/evaluate", json={"criteria": [{"kinds": ["report"]}]}, headers=scoped).json()
    assert [p["patient_id"] for p in cohort["patients"]] == ["P900001"]
    added = client.post("/cohorts/evaluate", json={"criteria": [{"kinds": ["report"]}], "included": ["P900003"]},
                        headers=scoped).json()
    assert [p["patient_id"] for p in added["patients"]] == ["P900001"]  # out of scope: cannot be added by hand
    assert client.get(f"/documents/{RPT_T003}/links", headers=scoped).status_code == 404
    assert client.get(f"/documents/{RPT_T003}/highlight", headers=scoped).status_code == 404


def test_search_and_patient_search_share_one_set_of_query_parameters(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    names = {p: sorted(x["name"] for x in paths[p]["get"]["parameters"]) for p in ("/search", "/search/patients")}
    assert names["/search"] == names["/search/patients"] and {"q", "kinds", "limit", "offset", "clinical"} <= set(names["/search"])
    for bad in ({"q": "  "}, {"q": "x", "date_from": "2024-02-01", "date_to": "2024-01-01"}, {"q": "x", "limit": 0},
                {"q": "x", "date_from": "3024-01-01"}, {"q": "x", "kinds": "nope"}, {"q": "x", "offset": -1}):
        for path in ("/search", "/search/patients"):
            response = client.get(path, params=bad, headers=USER)
            assert response.status_code == 422, (path, bad, response.text)
            assert response.json()["detail"][0]["msg"]
    paged = client.get("/search/patients", params={"q": "rapport", "limit": 1, "offset": 1, "kinds": "report"}, headers=USER).json()
    assert paged["offset"] == 1 and paged["limit"] == 1 and len(paged["patients"]) <= 1


def test_researcher_gets_the_patient_screens_pseudonymised(client: TestClient) -> None:
    """Patient view, timeline, grouped search, document links / highlight / similar for a researcher:
    pseudonyms everywhere, no name, no birth date, no real IPP, no real date of the patient."""
    researcher = auth("researcher", "r.fixture")
    grouped = client.get("/search/patients", params={"q": "infarctus du myocarde"}, headers=researcher).json()
    psn = grouped["patients"][0]["patient_id"]
    assert psn.startswith("PSN-") and grouped["total_patients"] == 1
    patient = client.get(f"/patients/{psn}", headers=researcher).json()
    # the age at the last document (20/06/2024: 62), on its shifted date: not today's age (counted on the
    # real today beside shifted dates, it was inconsistent with them and narrowed the patient's shift)
    assert patient["patient_id"] == psn and patient["identity"] == {
        "name": None, "birth_date": None, "sex": "male", "age": 62, "age_on": patient["last_date"]}
    assert patient["last_date"] != "2024-06-20"
    assert patient["stays"][0]["id"].startswith("SEJ-") and patient["stays"][0]["start"] != "2024-06-18"
    timeline = client.get(f"/patients/{psn}/timeline", params={"q": "infarctus"}, headers=researcher).json()
    record = next(e for g in timeline["groups"] for e in g["entries"] if e["kind"] == "record" and not e["entry"])
    assert record["id"] == f"record:{psn}" and timeline["matched"] >= 1
    letter = next(e for g in timeline["groups"] for e in g["entries"] if e["kind"] == "report")
    assert letter["age"] == 62 and letter["date"] != "2024-06-20"  # exact age, shifted date
    assert client.get(letter["url"], headers=researcher).json()["date"] == letter["date"]
    responses = [grouped, patient, timeline]
    for what in ("links", "highlight", "similar"):
        for doc_id in (record["id"], letter["id"]):
            answer = client.get(f"/documents/{doc_id}/{what}", params={"q": "infarctus"} if what == "highlight" else {}, headers=researcher)
            assert answer.status_code == 200, (what, doc_id, answer.text)
            responses.append(answer.json())
    assert client.get(f"/documents/{REC_P900003}/highlight", headers=researcher).status_code == 404  # the real IPP-named id
    assert client.get("/patients/P900003", headers=researcher).status_code == 404
    text = json.dumps(responses, ensure_ascii=False)
    for leaked in ("P900003", "EXEMPLE", "Jean", "1962-02-11", "11/02/1962", "2024-06-18", "2024-06-20", "20/06/2024", '"E1"'):  # the stay id as a whole JSON string (a PSN-/SEJ- hash may end in E1)
        assert leaked not in text, leaked


def test_patient_pages_read_one_ranking(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paging through the results by patient must show each patient once: the fused ranking's depth
    followed the page ((offset + limit) x 3 documents), so each page ranked the patients its own way
    (demo index, « embolie pulmonaire », 10 per page: one patient on pages 1 and 2, another never)."""
    from search_api.retrieval import SearchEngine

    asked: list[int] = []
    search = SearchEngine.search

    def spy(self, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        asked.append(request.limit)
        return search(self, request, *args, **kwargs)

    monkeypatch.setattr(SearchEngine, "search", spy)
    params = {"q": "patient"}  # term matches in two patients
    whole = [p["patient_id"] for p in client.get("/search/patients", params={**params, "limit": 10}, headers=USER).json()["patients"]]
    seen = []
    for offset in range(len(whole) + 1):
        page = client.get("/search/patients", params={**params, "limit": 1, "offset": offset}, headers=USER).json()
        seen += [p["patient_id"] for p in page["patients"]]
    assert len(set(asked)) == 1, asked
    assert len(whole) >= 2 and seen == whole


@pytest.mark.parametrize("path", ["/search", "/search/patients"])
@pytest.mark.parametrize("misspelt", [{"kind": "report"}, {"patientId": "P900002"}, {"date_start": "2024-05-01"}])
def test_misspelt_get_parameters_are_refused_by_name(client: TestClient, path: str, misspelt: dict) -> None:  # noqa: ANN001
    """« kind=report » (for kinds), « patientId » or « date_start » were ignored and the search ran
    unfiltered: a script asking for one patient's reports got every patient's documents. POST
    bodies already refuse unknown fields; GET now does too, naming the parameter."""
    response = client.get(path, params={"q": "fracture", **misspelt}, headers=USER)
    assert response.status_code == 422, response.text
    [name] = misspelt
    assert response.json()["detail"] == [{"loc": ["query", name], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}]
    assert client.get(path, params={"q": "fracture", "kinds": "report", "patient_id": "P900002"}, headers=USER).status_code == 200
