"""A decision on a patient whom a later run no longer finds stays visible (research associate's screening).

Walkthrough: « à revoir : FEVG à 40 %, seuil strict » on a patient; the next « Relancer » no longer
found them (their documents, or the definition, changed): the counts said « À revoir : 0 », the list
and the screening log's export (« Exporter aussi les exclus ») had no trace of the decision."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app
from test_ui_cohort_screening import RESULT, Fake, _decision, _rerun_page
from ui_support import patch_client

DR = auth("clinician", "dr.leroy")


@pytest.fixture(scope="module")
def client(indexed, encoder) -> TestClient:  # noqa: ANN001
    settings, _ = indexed
    return TestClient(create_app(settings, encoder=encoder))


def _csv(client: TestClient, cohort_id: int) -> list[list[str]]:
    exported = client.get(f"/cohorts/{cohort_id}/export", params={"format": "csv", "with_excluded": "true"}, headers=DR)
    assert exported.status_code == 200, exported.text
    return list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))


def test_the_screening_log_keeps_a_decision_whose_patient_left(client: TestClient) -> None:
    definition = {"criteria": [{"kinds": ["report"]}]}
    cohort = client.post("/cohorts", json={"name": "Sortis", "definition": definition}, headers=DR).json()
    assert cohort["members"] == ["P900001", "P900002", "P900003", "P900004"]
    decided = client.put(f"/cohorts/{cohort['id']}/decisions/P900002", json={"status": "to_review", "reason": "FEVG à 40 %"},
                         headers=DR)
    assert decided.status_code == 200, decided.text
    narrower = {"criteria": [{"q": "épanchement pleural"}]}
    assert client.put(f"/cohorts/{cohort['id']}", json={"name": "Sortis", "definition": narrower}, headers=DR).status_code == 200
    run = client.post(f"/cohorts/{cohort['id']}/run", headers=DR).json()
    assert [p["patient_id"] for p in run["patients"]] == ["P900001"]
    assert [(d["patient_id"], d["status"]) for d in run["decisions"]] == [("P900002", "to_review")]

    rows = _csv(client, cohort["id"])
    header, by_patient = rows[0], {r[0]: r for r in rows[1:]}
    assert sorted(by_patient) == ["P900001", "P900002"]
    departed = dict(zip(header, by_patient["P900002"]))
    assert departed["inclusion"] == "sortie" and departed["décision"] == "à revoir" and departed["motif"] == "FEVG à 40 %"
    assert departed["décidé par"] == "dr.leroy"
    # without the screening log: the members only, as before
    plain = client.get(f"/cohorts/{cohort['id']}/export", params={"format": "csv"}, headers=DR)
    assert [r[0] for r in csv.reader(io.StringIO(plain.content.decode("utf-8-sig")), delimiter=";")][1:] == ["P900001"]


def test_the_portal_lists_the_decided_patients_who_left(monkeypatch: pytest.MonkeyPatch) -> None:
    left = json.loads(json.dumps(RESULT))
    left["decisions"].append(_decision("to_review", "FEVG à 40 %", "P009"))
    monkeypatch.setattr("test_ui_cohort_screening.RESULT", left)
    patch_client(monkeypatch, Fake())
    at = _rerun_page()
    [expander] = [e for e in at.expander if e.label.startswith("↩️")]
    assert expander.label == "↩️ Décidés, ne répondent plus aux critères (1)"
    text = "\n".join(str(m.value) for m in expander.markdown)
    assert text == "**P009** · ❓ à revoir — par ide\\.durand le 03/12/2026 14\\:00 UTC \\: FEVG à 40 %"
    at.toggle(key="cohort-rerun-review-only").set_value(True).run()
    assert [e.label for e in at.expander if e.label.startswith("↩️")] == ["↩️ Décidés, ne répondent plus aux critères (1)"]
