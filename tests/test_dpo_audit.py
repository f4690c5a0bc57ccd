"""The DPO's review (GDPR art. 5/30/32, CNIL health data warehouse): who reads the audit and what they
see, who accessed a patient (results shown included), the CSV export, and local login beside OIDC.

Runs the real app over the fixture index (conftest ``indexed``): reports of P900001 (Radiologie),
P900002 (Urgences), P900003 (Cardiologie), P900004.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from auth_support import auth
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import RPT_T001
from indexer.settings import SecuritySettings, Settings
from search_api.app import create_app
from search_api.security.audit import AuditLog, verify_chain
from search_api.security.audit_read import patients_of, redacted
from search_api.security.users import UserStore

P1 = "P900001"
QUERY = "fracture bassin"
CLINICIAN, ADMIN, DPO = "dr.martin", "ops.admin", "dpo.chu"


def _settings(indexed, tmp_path: Path, **security) -> Settings:  # noqa: ANN001, ANN003
    base: Settings = indexed[0]
    return base.model_copy(update={
        "api": base.api.model_copy(update={"audit_log": tmp_path / "audit.log"}),
        "security": base.security.model_copy(update=security),
    })


@pytest.fixture(scope="module")
def site(indexed, encoder, tmp_path_factory):  # noqa: ANN001, ANN201
    """An API where a clinician searched (documents and patients) and read one of P900001's documents."""
    settings = _settings(indexed, tmp_path_factory.mktemp("dpo"))
    client = TestClient(create_app(settings, encoder=encoder))
    clinician = auth("clinician", CLINICIAN)
    assert client.get("/search", params={"q": QUERY}, headers=clinician).status_code == 200
    assert client.get("/search/patients", params={"q": "épanchement pleural"}, headers=clinician).status_code == 200
    assert client.get(f"/documents/{RPT_T001}", headers=clinician).status_code == 200
    return client, settings


def _entries(settings: Settings) -> list[dict]:
    return AuditLog(settings.api.audit_log).entries()


# -- who reads the audit, and what they see ----------------------------------------------------
def test_an_admin_reads_metadata_only_and_an_auditor_whole_entries(site) -> None:  # noqa: ANN001
    client, settings = site
    admin = client.get("/audit", params={"user": CLINICIAN, "action": "search"}, headers=auth("admin", ADMIN))
    assert admin.status_code == 200 and admin.json()["redacted"] is True
    entry = admin.json()["entries"][0]
    assert entry["user"] == CLINICIAN and entry["action"] == "search" and entry["hash"]
    assert {"query", "returned", "patients"} <= set(entry["redacted"])
    assert QUERY not in admin.text and P1 not in admin.text  # no query text, no patient, anywhere in the page

    dpo = client.get("/audit", params={"user": CLINICIAN, "action": "search"}, headers=auth("auditor", DPO))
    assert dpo.status_code == 200 and dpo.json()["redacted"] is False
    assert dpo.json()["entries"][0]["query"] == QUERY and "redacted" not in dpo.json()["entries"][0]

    reads = [e for e in _entries(settings) if e["action"] == "audit_read"]
    assert [(e["user"], e["role"], e["redacted"]) for e in reads[-2:]] == [(ADMIN, "admin", True), (DPO, "auditor", False)]
    assert verify_chain(settings.api.audit_log).ok  # redaction is at read time: the stored chain is untouched


def test_refused_paths_do_not_name_the_patient_for_admins() -> None:
    entry = {"seq": 3, "user": "dr.x", "action": "denied", "path": "/patients/P900001/timeline", "status": 404}
    assert redacted(entry) == {"seq": 3, "user": "dr.x", "action": "denied", "path": "/patients/…", "status": 404}


def test_who_accessed_a_patient_is_the_auditors_question(site) -> None:  # noqa: ANN001
    client, settings = site
    refused = client.get("/audit", params={"patient_id": P1}, headers=auth("admin", ADMIN))
    assert refused.status_code == 403
    denied = _entries(settings)[-1]
    assert (denied["user"], denied["action"], denied["reason"]) == (ADMIN, "denied", "the patient filter requires the auditor role")
    assert client.get("/audit", headers=auth("clinician", CLINICIAN)).status_code == 403

    found = client.get("/audit", params={"patient_id": P1, "user": CLINICIAN}, headers=auth("auditor", DPO)).json()
    actions = {e["action"] for e in found["entries"]}
    # the document read, and both searches whose results showed P900001 (the patient search lists it in `returned`)
    assert {"document_read", "search", "patient_search"} <= actions, actions


def test_patients_of_reads_cohort_entries() -> None:
    assert patients_of({"action": "cohort_run", "returned": ["P1", "P2"], "new": ["P3"]}) == ["P3", "P1", "P2"]
    assert patients_of({"action": "cohort_decision", "decisions": [{"patient": "P4", "status": "excluded"}]}) == ["P4"]
    assert patients_of({"action": "search", "returned": ["report:ACC1"], "patients": ["P5"]}) == ["P5"]
    assert patients_of({"action": "jobs_read", "returned": ["job-1"]}) == []


# -- export ------------------------------------------------------------------------------------
def test_the_auditor_exports_a_patients_access_report_as_csv(site) -> None:  # noqa: ANN001
    client, settings = site
    response = client.get("/audit/export", params={"patient_id": P1}, headers=auth("auditor", DPO))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows and all(P1 in row["patients"].split() for row in rows)
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)  # oldest first
    assert any(r["user"] == CLINICIAN and r["action"] == "search" and r["query"] == QUERY for r in rows)
    exported = _entries(settings)[-1]
    assert (exported["user"], exported["action"], exported["rows"]) == (DPO, "audit_export", len(rows))
    assert exported["filters"]["patient_id"] == P1

    admin = client.get("/audit/export", params={"user": CLINICIAN}, headers=auth("admin", ADMIN))
    assert admin.status_code == 200 and QUERY not in admin.text and P1 not in admin.text
    assert _entries(settings)[-1]["redacted"] is True


def test_a_patients_access_report_names_no_query_and_no_other_patient(site) -> None:  # noqa: ANN001
    client, _ = site
    assert client.get("/audit/export", params={"report": "patient"}, headers=auth("auditor", DPO)).status_code == 422
    response = client.get("/audit/export", params={"patient_id": P1, "report": "patient"}, headers=auth("auditor", DPO))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["date_utc", "user", "role", "action", "document_id"]
    by_action = {(r["user"], r["action"]) for r in rows}
    assert (CLINICIAN, "lecture d'un document") in by_action
    assert (CLINICIAN, "dossier apparu dans les résultats d'une recherche de patients") in by_action
    assert any(r["document_id"] == RPT_T001 for r in rows)
    # the search that showed P900001 also showed others: neither its text nor the other patients are in the report
    assert QUERY not in response.text and "pleural" not in response.text
    assert not any(p in response.text for p in ("P900002", "P900003", "P900004"))


def test_export_cells_cannot_run_as_formulas(site) -> None:  # noqa: ANN001
    client, _ = site
    client.get("/search", params={"q": "=HYPERLINK(\"http://x\")"}, headers=auth("clinician", CLINICIAN))
    text = client.get("/audit/export", params={"action": "search"}, headers=auth("auditor", DPO)).text
    assert any(row["query"] == "'=HYPERLINK(\"http://x\")" for row in csv.DictReader(io.StringIO(text)))


def test_cli_export_is_audited_and_keeps_the_chain(site, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from indexer.cli import app as cli

    _, settings = site
    log = settings.api.audit_log
    out = tmp_path / "p1.csv"
    done = CliRunner().invoke(cli, ["audit", "export", "--patient", P1, "--output", str(out), "--log", str(log)])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and all(P1 in r["patients"].split() for r in rows)
    last = AuditLog(log).entries()[-1]
    assert last["action"] == "audit_export" and last["user"].startswith("cli:") and last["rows"] == len(rows)
    assert CliRunner().invoke(cli, ["audit", "verify", str(log)]).exit_code == 0


# -- local login beside OIDC ---------------------------------------------------------------------
OIDC = {"jwt_issuer": "https://kc.example/realms/chu", "jwt_audience": "medsearch", "jwks_url": "https://kc.example/certs"}


def test_local_login_follows_the_configuration() -> None:
    assert SecuritySettings().local_login_enabled  # the demo: no OIDC, local accounts
    assert not SecuritySettings(**OIDC).local_login_enabled  # the hospital's provider: no local passwords
    assert SecuritySettings(**OIDC, local_login=True).local_login_enabled  # a break-glass account, explicitly
    assert not SecuritySettings(local_login=False).local_login_enabled


def test_with_oidc_local_login_is_off_unless_set_and_warned(indexed, encoder, tmp_path: Path, caplog) -> None:  # noqa: ANN001
    users = UserStore(tmp_path / "users.json")
    users.add("dr.local", ["clinician"], password="x" * 16)
    login = {"username": "dr.local", "password": "x" * 16}
    with caplog.at_level(logging.WARNING, logger="medsearch.security"):
        off = TestClient(create_app(_settings(indexed, tmp_path / "off", users_file=users.path, **OIDC), encoder=encoder))
    assert off.post("/auth/login", json=login).status_code == 404
    assert not [r for r in caplog.records if "local_login" in r.getMessage()]
    with caplog.at_level(logging.WARNING, logger="medsearch.security"):
        on = TestClient(create_app(_settings(indexed, tmp_path / "on", users_file=users.path, local_login=True, **OIDC),
                                   encoder=encoder))
    assert on.post("/auth/login", json=login).status_code == 200
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "local_login is true" in r.getMessage()]


def test_auditor_role_sees_no_patient_document(site) -> None:  # noqa: ANN001
    client, _ = site
    me = client.get("/auth/me", headers=auth("auditor", DPO)).json()
    assert (me["role"], me["view"]) == ("auditor", "none")
    assert client.get(f"/documents/{RPT_T001}", headers=auth("auditor", DPO)).status_code == 404
    found = client.get("/search", params={"q": QUERY}, headers=auth("auditor", DPO)).json()
    assert all(not r.get("patient_id") for r in found["results"])
