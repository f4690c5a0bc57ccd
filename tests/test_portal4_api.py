"""API side of the portal walkthrough of 3 December (portal4): the patient header's date range and the
document fields the portal shows (a copy's other files, a FHIR letter's author), on a small indexed site.

The site: one FHIR bundle whose record has a 2016 problem (the record itself is dated by its latest
entry), a 2024 treatment and a DocumentReference discharge letter; one report exported twice (two
folders, same text): indexed once, the copy named in ``metadata.duplicate_sources``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from engine_support import site_over

DR = auth("clinician", "dr.portal4")
RESEARCHER = auth("researcher", "r.portal4")
PATIENT = "P740001"
LETTER = "Lettre de sortie\n\nCher confrère,\n\nFibrillation atriale ; apixaban introduit.\n"
REPORT = f"Examen : Scanner thoracique\nIPP : {PATIENT}\nDate : 24/05/2024\n\nNodule pulmonaire de 6 mm.\n"


def _bundle() -> dict[str, Any]:
    subject = {"reference": f"Patient/{PATIENT}"}
    resources = [
        {"resourceType": "Patient", "id": PATIENT, "gender": "male", "birthDate": "1948-07-14"},
        {"resourceType": "Condition", "id": "c-2016", "subject": subject, "code": {"text": "Diabète de type 2"},
         "onsetDateTime": "2016-04-05"},
        {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order", "subject": subject,
         "medicationCodeableConcept": {"text": "Apixaban 5 mg"}, "authoredOn": "2024-03-02"},
        {"resourceType": "DocumentReference", "id": "dr-1", "status": "current", "subject": subject,
         "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}],
                  "text": "Lettre de sortie"},
         "date": "2024-03-02T16:20:00+01:00", "author": [{"display": "Dr Anne Moreau"}],
         "custodian": {"display": "CHU de Bordeaux"}, "context": {"practiceSetting": {"text": "Cardiologie"}},
         "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(LETTER.encode()).decode()}}]},
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, encoder) -> tuple[TestClient, Path]:  # noqa: ANN001
    root = tmp_path_factory.mktemp("portal4")
    corpus = root / "exports"
    for folder in ("records", "export_2024", "rattrapage"):
        (corpus / folder).mkdir(parents=True)
    (corpus / "records" / f"{PATIENT}.json").write_text(json.dumps(_bundle()), encoding="utf-8")
    (corpus / "export_2024" / "CR_123.txt").write_text(REPORT, encoding="utf-8")
    (corpus / "rattrapage" / "CR_123.txt").write_text(REPORT, encoding="utf-8")
    return site_over(root, corpus, encoder), corpus


def _timeline_dates(client: TestClient, patient: str, headers: dict[str, str]) -> list[str]:
    body = client.get(f"/patients/{patient}/timeline", headers=headers).json()
    return sorted(entry["date"] for group in body["groups"] for entry in group["entries"] if entry.get("date"))


def test_patient_range_covers_the_records_oldest_entry(site: tuple[TestClient, Path]) -> None:
    """Before: first_date was the documents' oldest date (2024-03-02), the timeline showing a 2016 problem."""
    client, _ = site
    patient = client.get(f"/patients/{PATIENT}", headers=DR).json()
    dates = _timeline_dates(client, PATIENT, DR)
    assert dates[0] == "2016-04-05"
    assert (patient["first_date"], patient["last_date"]) == (dates[0], dates[-1]) == ("2016-04-05", "2024-05-24")


def test_researcher_range_is_shifted_as_the_timeline(site: tuple[TestClient, Path]) -> None:
    client, _ = site
    psn = client.get("/search/patients", params={"q": "apixaban"}, headers=RESEARCHER).json()["patients"][0]["patient_id"]
    patient = client.get(f"/patients/{psn}", headers=RESEARCHER).json()
    dates = _timeline_dates(client, psn, RESEARCHER)
    assert (patient["first_date"], patient["last_date"]) == (dates[0], dates[-1])


def test_document_endpoint_gives_duplicate_sources_to_clinicians_only(site: tuple[TestClient, Path]) -> None:
    client, corpus = site
    doc_id = "report:export_2024/CR_123.txt"
    body = client.get(f"/documents/{doc_id}", headers=DR).json()
    assert body["metadata"]["duplicate_sources"] == [str(corpus / "rattrapage" / "CR_123.txt")]
    found = client.get("/search", params={"q": "nodule pulmonaire"}, headers=RESEARCHER).json()["results"]
    [shown] = [hit["id"] for hit in found if hit["title"] == "Scanner thoracique"]  # a pseudonymous id
    seen = client.get(f"/documents/{shown}", headers=RESEARCHER).json()
    assert "Nodule pulmonaire" in seen["text"] and "duplicate_sources" not in seen["metadata"]


def test_fhir_letter_and_treatment_reach_the_portal(site: tuple[TestClient, Path]) -> None:
    """What the document view and the timeline draw from: the letter's author, unit and custodian; the
    record's « Traitement » entry."""
    client, _ = site
    letter = client.get(f"/documents/report:{PATIENT}/DocumentReference/dr-1", headers=DR).json()
    meta = letter["metadata"]
    assert (meta["author"], meta["department"], meta["custodian"]) == (["Dr Anne Moreau"], "Cardiologie", "CHU de Bordeaux")
    body = client.get(f"/patients/{PATIENT}/timeline", headers=DR).json()
    kinds = {entry.get("entry") for group in body["groups"] for entry in group["entries"]}
    assert {"Problème", "Traitement"} <= kinds
