"""Defects a physician found reading patient records (FHIR results and stays) and filtering by care unit.

A small site is indexed: one FHIR bundle (vital signs as the warehouse exports them, « 122.0 mmHg »;
an inpatient Encounter whose class display is English by the HL7 standard and whose serviceType says
"Pulmonology"), a French report of « Service : Pneumologie » and an English one of "Department:
Pulmonology" — one unit under two names.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from engine_support import site_over

DR = auth("clinician", "dr.records")
PATIENT = "P700001"


def _bundle() -> dict[str, Any]:
    def observation(oid: str, text: str, value: float | str, unit: str) -> dict[str, Any]:
        return {"resourceType": "Observation", "id": oid, "status": "final", "code": {"text": text},
                "subject": {"reference": f"Patient/{PATIENT}"}, "effectiveDateTime": "2024-03-12T09:00:00+01:00",
                "valueQuantity": {"value": value, "unit": unit}}

    resources = [
        {"resourceType": "Patient", "id": PATIENT, "gender": "female", "birthDate": "1950-02-03"},
        {"resourceType": "Encounter", "id": "ENC-1", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
         "serviceType": {"text": "Pulmonology"}, "subject": {"reference": f"Patient/{PATIENT}"},
         "period": {"start": "2024-03-11T10:00:00+01:00", "end": "2024-03-15T12:00:00+01:00"}},
        {"resourceType": "Encounter", "id": "ENC-2", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER", "display": "emergency"},
         "subject": {"reference": f"Patient/{PATIENT}"},
         "period": {"start": "2024-06-01T22:00:00+02:00", "end": "2024-06-02T03:00:00+02:00"}},
        observation("OBS-1", "Pression artérielle systolique", 122.0, "mmHg"),
        observation("OBS-2", "Température", 37.8, "°C"),
        observation("OBS-3", "Troponine", 0.050, "ng/mL"),
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, encoder) -> TestClient:  # noqa: ANN001
    root = tmp_path_factory.mktemp("records")
    corpus = root / "exports"
    (corpus / "records").mkdir(parents=True)
    (corpus / "reports").mkdir()
    (corpus / "records" / f"{PATIENT}.json").write_text(json.dumps(_bundle()), encoding="utf-8")
    (corpus / "reports" / "fr.txt").write_text(
        f"Examen : Scanner thoracique\nIPP : {PATIENT}\nService : Pneumologie\nDate : 13/03/2024\n\n"
        "Embolie pulmonaire segmentaire droite.\n", encoding="utf-8")
    (corpus / "reports" / "en.txt").write_text(
        f"Title : Chest CT\nPatient ID : {PATIENT}\nDepartment : Pulmonology\nDate : 2024-03-14\n\n"
        "Right segmental pulmonary embolism.\n", encoding="utf-8")
    return site_over(root, corpus, encoder)


def _timeline_titles(site: TestClient) -> list[str]:
    body = site.get(f"/patients/{PATIENT}/timeline", headers=DR).json()
    return [entry["title"] for group in body["groups"] for entry in group["entries"]]


def test_vital_signs_read_as_a_clinician_writes_them(site: TestClient) -> None:
    """Found reading a record: the timeline showed « Pression artérielle systolique : 122.0 mmHg »
    (the FHIR decimal printed as is) and « 37.8 °C » in the French portal."""
    titles = _timeline_titles(site)
    assert "Pression artérielle systolique : 122 mmHg (12/03/2024)" in titles
    assert "Température : 37,8 °C (12/03/2024)" in titles
    assert "Troponine : 0,05 ng/mL (12/03/2024)" in titles  # meaningful decimals kept
    assert not any("122.0" in t or "37.8" in t for t in titles)
    record = site.get(f"/documents/record:{PATIENT}", headers=DR).json()
    assert "122 mmHg" in record["text"] and "122.0" not in record["text"]


def test_stays_are_named_in_french_with_their_fhir_code(site: TestClient) -> None:
    """Found reading a record: stays read « inpatient encounter » (the HL7 display, English) in the
    French portal; the API now names them in French and keeps the ActCode."""
    stays = site.get(f"/patients/{PATIENT}", headers=DR).json()["stays"]
    assert [(s["label"], s["code"]) for s in stays] == [("hospitalisation", "IMP"), ("urgences", "EMER")]
    record = site.get(f"/documents/record:{PATIENT}", headers=DR).json()
    assert "Séjour hospitalisation (11/03/2024)" in record["text"] and "inpatient encounter" not in record["text"]
    groups = site.get(f"/patients/{PATIENT}/timeline", headers=DR).json()["groups"]
    from ui import render

    headers = [render.stay_header(g["stay"]) for g in groups if g["stay"]]
    assert "Séjour hospitalisation · 11/03/2024 → 15/03/2024 · Pneumologie" in headers


def test_one_care_unit_under_its_french_and_english_names(site: TestClient) -> None:
    """Found filtering by care unit: « Pneumologie » (French report) and "Pulmonology" (English report,
    FHIR serviceType) were two units, so each filter found half of the unit's documents."""
    for name in ("Pneumologie", "Pulmonology", "service de pneumologie", "PNEUMOLOGIE"):
        found = site.get("/search", params={"q": "embolie pulmonaire", "departments": name, "mode": "lexical"}, headers=DR).json()
        assert sorted(r["id"] for r in found["results"]) == ["report:reports/en.txt", "report:reports/fr.txt"], name
    patient = site.get(f"/patients/{PATIENT}", headers=DR).json()
    assert patient["departments"] == ["Pneumologie"]
    assert patient["stays"][0]["unit"] == "Pneumologie"
    english = site.get("/documents/report:reports/en.txt", headers=DR).json()
    assert english["metadata"]["department"] == "Pneumologie"
    assert english["metadata"]["department_original"] == "Pulmonology"  # as written, kept
    cohort = site.post("/cohorts/evaluate", headers=DR, json={"criteria": [{"q": "embolie pulmonaire", "departments": ["Pulmonology"]}]})
    assert cohort.status_code == 200, cohort.text
    assert [p["patient_id"] for p in cohort.json()["patients"]] == [PATIENT]


def test_the_demo_generator_names_each_unit_once() -> None:
    """The demo corpus writes each unit in French (French reports, FHIR) and in English (English
    reports, DICOM): every pair is one canonical unit, and no two units share one."""
    from indexer.demo import vocabulary as V
    from indexer.departments import canonical_department

    pairs = [*V.SERVICES.values(), V.RADIOLOGY_SERVICE, V.NEURORADIOLOGY_SERVICE, V.CARDIO_IMAGING_SERVICE]
    canonical = [canonical_department(fr) for fr, _ in pairs]
    assert [canonical_department(en) for _, en in pairs] == canonical
    assert canonical == [fr for fr, _ in pairs] and len(set(canonical)) == len(pairs)
