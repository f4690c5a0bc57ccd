"""Stays from FHIR encounters, and the researchers' de-identified patient screens, over a small index
of the demo generator's own corpus (``medsearch demo-corpus`` with seed 7 and 4 patients: real FHIR
bundles with one or two Encounters each, reports inside and outside the stays, DICOM series).

Seed 7 gives: P000002 one stay 16–21/03/2021 and a radiology report of 24/10/2021 outside it;
P000003 stays 25/08–01/09/2022 and 30/09–02/10/2024; P000004 stays 10–18/01/2020 and 15–21/10/2021.
The expected periods are read from the bundles themselves, not restated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from auth_support import auth

SEED, PATIENTS = 7, 4
DR = auth("clinician", "dr.stays")
RESEARCHER = auth("researcher", "r.stays")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, encoder) -> tuple[Any, Path]:  # noqa: ANN001
    """(settings, corpus folder) of the indexed demo corpus (articles left out: no patient, only time)."""
    from indexer.demo.generate import generate_corpus
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    root = tmp_path_factory.mktemp("stays")
    corpus = root / "demo"
    generate_corpus(corpus, seed=SEED, n_patients=PATIENTS)
    shutil.rmtree(corpus / "articles")
    shutil.rmtree(corpus / "figures", ignore_errors=True)
    settings = Settings(
        index={"dir": root / "index"},
        api={"audit_log": root / "audit.log", "user_data": root / "user_data.sqlite"},
        security={"rate_limit_per_minute": 0},
    )
    index_paths([corpus], settings, encoder)
    return settings, corpus


@pytest.fixture(scope="module")
def client(demo, encoder) -> TestClient:  # noqa: ANN001
    from search_api.app import create_app

    return TestClient(create_app(demo[0], encoder=encoder))


def bundle_stays(corpus: Path, patient: str) -> dict[str, tuple[str, str]]:
    """Encounter id → (start day, end day), straight from the patient's FHIR bundle."""
    bundle = json.loads((corpus / "records" / f"{patient}.json").read_text(encoding="utf-8"))
    return {
        e["resource"]["id"]: (e["resource"]["period"]["start"][:10], e["resource"]["period"]["end"][:10])
        for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    }


def members(client: TestClient, definition: dict, headers: dict = DR) -> list[dict]:  # noqa: B006
    response = client.post("/cohorts/evaluate", json=definition, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["patients"]


def ids(found: list[dict]) -> list[str]:
    return [p["patient_id"] for p in found]


def test_patient_stays_are_the_bundles_encounters(client: TestClient, demo) -> None:  # noqa: ANN001
    for patient in ("P000003", "P000004"):
        body = client.get(f"/patients/{patient}", headers=DR).json()
        expected = bundle_stays(demo[1], patient)
        assert len(expected) == 2
        assert {s["id"]: (s["start"], s["end"]) for s in body["stays"]} == expected


def test_timeline_groups_documents_by_encounter_period(client: TestClient, demo) -> None:  # noqa: ANN001
    for patient in ("P000002", "P000003", "P000004"):
        periods = bundle_stays(demo[1], patient)
        body = client.get(f"/patients/{patient}/timeline", headers=DR).json()
        grouped = 0
        for group in body["groups"]:
            for entry in group["entries"]:
                if entry["date"] is None:
                    continue
                inside = [s for s, (start, end) in periods.items() if start <= entry["date"] <= end]
                if group["stay"] is None:
                    assert inside == [], (patient, entry)
                else:
                    assert group["stay"]["id"] in inside and entry["stay_id"] == group["stay"]["id"], (patient, entry)
                    grouped += 1
        assert grouped >= 2, patient
    outside = client.get("/patients/P000002/timeline", params={"kinds": "report"}, headers=DR).json()
    loose = [e for g in outside["groups"] if g["stay"] is None for e in g["entries"]]
    assert [e["date"] for e in loose] == ["2021-10-24"]  # the radiology report seven months after the stay


def test_stay_window_uses_encounter_periods_not_document_dates(client: TestClient) -> None:
    october_2021 = {"stay_from": "2021-10-01", "stay_to": "2021-10-31"}
    # by stay: P000004's stay of 15–21/10/2021; P000002's report of 24/10/2021 belongs to no stay
    found = members(client, {"criteria": [october_2021]})
    assert ids(found) == ["P000004"]
    evidence = found[0]["evidence"]
    assert [e["stay"]["id"] for e in evidence] == ["ENC-P000004-2"]
    assert evidence[0]["doc_id"] == "record:P000004" and evidence[0]["date"] == "2021-10-15"
    assert (evidence[0]["stay"]["start"], evidence[0]["stay"]["end"]) == ("2021-10-15", "2021-10-21")
    # by document date, the same month holds P000002's report too
    by_date = members(client, {"criteria": [{"kinds": ["report"], "date_from": "2021-10-01", "date_to": "2021-10-31"}]})
    assert ids(by_date) == ["P000002", "P000004"]
    # documents of a kind, inside a stay overlapping the window: the evidence names the stay
    reports = members(client, {"criteria": [{"kinds": ["report"], **october_2021}]})
    assert ids(reports) == ["P000004"]
    assert {e["stay"]["id"] for e in reports[0]["evidence"]} == {"ENC-P000004-2"}
    assert all("2021-10-15" <= e["date"] <= "2021-10-21" for e in reports[0]["evidence"])


def test_stay_window_overlap_edges(client: TestClient) -> None:
    assert ids(members(client, {"criteria": [{"stay_from": "2022-08-30", "stay_to": "2022-08-31"}]})) == ["P000003"]  # inside
    assert ids(members(client, {"criteria": [{"stay_to": "2020-01-10", "stay_from": "2019-01-01"}]})) == ["P000004"]  # its first day
    assert ids(members(client, {"criteria": [{"stay_from": "2024-10-02"}]})) == ["P000003"]  # its last day
    assert members(client, {"criteria": [{"stay_from": "2024-10-03"}]}) == []
    # a stay criterion excluding: patients with a 2021 stay out
    kept = members(client, {"criteria": [{"kinds": ["record"]}, {"include": "must_not", "stay_from": "2021-01-01", "stay_to": "2021-12-31"}]})
    assert ids(kept) == ["P000003"]
    # time relation from a stay criterion (dated by its start) to a report
    related = {"criteria": [{"stay_from": "2024-01-01"}, {"kinds": ["report"]}], "relation": {"first": 0, "then": 1, "within_days": 3}}
    assert ids(members(client, related)) == ["P000003"]
    assert client.post("/cohorts/evaluate", json={"criteria": [{"stay_from": "2022-01-02", "stay_to": "2022-01-01"}]},
                       headers=DR).status_code == 422


# -- the researcher's view of the same screens ---------------------------------------------------
@pytest.fixture(scope="module")
def deid(demo, client):  # noqa: ANN001, ANN201
    """The app's own de-identifier (the test holds the pseudonym key, as the evaluator does)."""
    from search_api.security.deid import Deidentifier
    from search_api.security.secrets import pseudonym_key

    return Deidentifier(pseudonym_key(demo[0].security.secrets_dir), [f"P00000{i}" for i in range(1, PATIENTS + 1)])


def test_researcher_opens_patient_and_timeline_by_pseudonym(client: TestClient, deid, demo) -> None:  # noqa: ANN001
    psn = deid.pseudonym("P000003")
    body = client.get(f"/patients/{psn}", headers=RESEARCHER)
    assert body.status_code == 200, body.text
    patient = body.json()
    assert patient["patient_id"] == psn
    assert patient["identity"]["name"] is None and patient["identity"]["birth_date"] is None
    assert patient["identity"]["sex"] == "female" and patient["identity"]["age"] is not None
    real = bundle_stays(demo[1], "P000003")
    shifted = {(str(deid.date(dt.date.fromisoformat(a), "P000003")), str(deid.date(dt.date.fromisoformat(b), "P000003")))
               for a, b in real.values()}
    assert {(s["start"], s["end"]) for s in patient["stays"]} == shifted
    assert all(s["id"].startswith("SEJ-") for s in patient["stays"])
    assert client.get("/patients/P000003", headers=RESEARCHER).status_code == 404  # the real IPP opens nothing
    assert client.get("/patients/P000003/timeline", headers=RESEARCHER).status_code == 404

    timeline = client.get(f"/patients/{psn}/timeline", headers=RESEARCHER).json()
    clinician = client.get("/patients/P000003/timeline", headers=DR).json()
    assert timeline["patient_id"] == psn and timeline["total"] == clinician["total"]
    assert [len(g["entries"]) for g in timeline["groups"]] == [len(g["entries"]) for g in clinician["groups"]]
    # the same document has the same (shifted) date here as in the researcher's search results
    report = next(e for g in timeline["groups"] for e in g["entries"] if e["kind"] == "report")
    found = client.get("/search", params={"q": "compte rendu", "patient_id": psn, "limit": 100}, headers=RESEARCHER).json()
    same = [r for r in found["results"] if r["id"] == report["id"]]
    assert same and same[0]["date"] == report["date"]
    assert client.get(report["url"], headers=RESEARCHER).json()["date"] == report["date"]
    # ages as the clinician sees them (a researcher's report and image ids are keyed: compared in timeline order,
    # which one per-patient shift keeps)
    ages = [e["age"] for g in clinician["groups"] for e in g["entries"] if not e["entry"]]
    assert [e["age"] for g in timeline["groups"] for e in g["entries"] if not e["entry"]] == ages


def test_researcher_cohort_windows_apply_to_the_dates_they_see(client: TestClient, deid) -> None:  # noqa: ANN001
    start = deid.date(dt.date(2024, 9, 30), "P000003")
    end = deid.date(dt.date(2024, 10, 2), "P000003")
    window = {"stay_from": str(start), "stay_to": str(end)}
    found = members(client, {"criteria": [window]}, RESEARCHER)
    assert deid.pseudonym("P000003") in ids(found)
    mine = next(p for p in found if p["patient_id"] == deid.pseudonym("P000003"))
    assert {(e["stay"]["start"], e["stay"]["end"]) for e in mine["evidence"]} == {(str(start), str(end))}
    assert all(e["doc_id"] == f"record:{deid.pseudonym('P000003')}" for e in mine["evidence"])
    # a document-date window in the researcher's frame finds the document at the date they were shown
    day = deid.date(dt.date(2024, 9, 30), "P000003")
    dated = members(client, {"criteria": [{"kinds": ["report"], "date_from": str(day), "date_to": str(day)}]}, RESEARCHER)
    assert deid.pseudonym("P000003") in ids(dated)
    assert all(e["date"] == str(day) for p in dated for e in p["evidence"])


def test_researcher_cohort_ages_are_at_the_last_evidence_not_today(client: TestClient, deid) -> None:  # noqa: ANN001
    """A researcher's cohort gave each member's age today (counted on the real today) beside the evidence's
    shifted dates: the age is now the one at the member's last evidence document, the same before and after
    the shift; a clinician keeps today's age."""
    from search_api.patient_data import age_at

    definition = {"criteria": [{"kinds": ["report"]}]}
    clinician = {p["patient_id"]: p for p in members(client, definition)}
    researcher = {p["patient_id"]: p for p in members(client, definition, RESEARCHER)}
    assert len(researcher) == len(clinician) >= 2
    differs = 0
    for real, seen in clinician.items():
        birth = dt.date.fromisoformat(client.get(f"/patients/{real}", headers=DR).json()["identity"]["birth_date"])
        last = max(dt.date.fromisoformat(e["date"]) for e in seen["evidence"] if e["date"])
        assert seen["age"] == age_at(birth, dt.date.today())
        assert researcher[deid.pseudonym(real)]["age"] == age_at(birth, last)
        differs += age_at(birth, last) != seen["age"]
    assert differs  # the demo's reports are years old: the two ages differ (the test can fail)


def test_researcher_saves_reruns_and_exports_a_pseudonymised_cohort(client: TestClient, deid) -> None:  # noqa: ANN001
    psn = deid.pseudonym("P000004")
    definition = {"criteria": [{"kinds": ["report"]}], "excluded": [psn]}
    saved = client.post("/cohorts", json={"name": "Recherche", "definition": definition}, headers=RESEARCHER)
    assert saved.status_code == 201, saved.text
    cohort = saved.json()
    assert cohort["members"] and all(m.startswith("PSN-") for m in cohort["members"]) and psn not in cohort["members"]
    assert client.get("/cohorts", headers=DR).json() == [] or all(c["name"] != "Recherche" for c in client.get("/cohorts", headers=DR).json())
    rerun = client.post(f"/cohorts/{cohort['id']}/run", headers=RESEARCHER).json()
    assert rerun["new"] == 0 and rerun["excluded"] == [psn]
    exported = client.get(f"/cohorts/{cohort['id']}/export", params={"format": "csv"}, headers=RESEARCHER)
    assert exported.status_code == 200
    text = exported.content.decode("utf-8-sig")
    assert not re.search(r"P00000\d", text) and text.count("PSN-") >= len(cohort["members"])


def test_no_identifier_reaches_a_researcher_on_any_patient_screen(client: TestClient, deid) -> None:  # noqa: ANN001
    """The leak measure of eval/deid_leak.py, over the patient-centred screens of this corpus:
    zero patient names, staff names, IPPs and birth dates as a researcher; the clinician control
    finds them (the measure can fail)."""
    from eval.deid_leak import _identifiers, count_leaks, crawl_patients

    identifiers = _identifiers(SEED, PATIENTS)
    queries = ["compte rendu", "scanner", "lettre de sortie"]

    def walk(headers: dict[str, str], shown: dict[str, str]) -> tuple[int, int]:
        documents = []
        for real, seen in shown.items():
            timeline = client.get(f"/patients/{seen}/timeline", headers=headers).json()
            documents += [(e["id"], real) for g in timeline["groups"] for e in g["entries"] if not e["entry"]]
        screens = crawl_patients(client, headers, {seen: real for real, seen in shown.items()}, documents, queries)
        occurrences = sum(sum(count_leaks(text, identifiers, real).values()) for text, real in screens)
        return len(screens), occurrences

    reals = [f"P00000{i}" for i in range(1, PATIENTS + 1)]
    responses, leaks = walk(RESEARCHER, {p: deid.pseudonym(p) for p in reals})
    assert responses > 40 and leaks == 0
    control_responses, control_leaks = walk(DR, {p: p for p in reals})
    assert control_responses == responses and control_leaks > 0
