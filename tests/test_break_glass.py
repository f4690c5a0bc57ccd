"""« Bris de glace »: a restricted clinician's time-limited, audited access to one patient outside their scope.

Runs the real app over the fixture index (conftest ``indexed``): P900001's reports are in Radiologie,
P900002's in Urgences, P900003's in Cardiologie. The clinician is restricted to Urgences. Expiry is
checked by moving the grant store's clock, never by sleeping.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from auth_support import auth
from fastapi.testclient import TestClient

from conftest import RPT_T001, RPT_T002
from indexer.settings import Settings
from search_api.app import create_app
from search_api.security.audit import AuditLog, verify_chain
from search_api.security.audit_read import redacted
from search_api.security.keys import KeyStore

P1, P2, P3 = "P900001", "P900002", "P900003"
QUERY = "épanchement pleural"  # P900001 (Radiologie) matches it, and others
REASON = "Patient admis aux urgences cette nuit, antécédents à vérifier"
DR, OTHER_DR, ADMIN, DPO = "dr.urgences", "dr.autre", "ops.admin", "dpo.chu"


class Clock:
    """A clock the test moves (the grant store's ``clock``)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 22, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def _settings(indexed, folder: Path, **security) -> Settings:  # noqa: ANN001, ANN003
    base: Settings = indexed[0]
    return base.model_copy(update={
        "api": base.api.model_copy(update={"audit_log": folder / "audit.log", "user_data": folder / "user_data.sqlite"}),
        "security": base.security.model_copy(update=security),
    })


def _client(settings: Settings, encoder, clock: Clock) -> TestClient:  # noqa: ANN001
    app = create_app(settings, encoder=encoder)
    app.state.security.grants.clock = clock
    return TestClient(app)


@pytest.fixture
def site(indexed, encoder, tmp_path: Path):  # noqa: ANN001, ANN201
    clock = Clock()
    settings = _settings(indexed, tmp_path)
    return _client(settings, encoder, clock), settings, clock


def _dr(user: str = DR) -> dict[str, str]:
    return auth("clinician", user, units=["Urgences"])


def _break(client: TestClient, patient: str = P1, headers: dict[str, str] | None = None, **body) -> object:  # noqa: ANN003
    return client.post("/access/break-glass", headers=headers or _dr(),
                       json={"patient_id": patient, "motive": "urgence", "reason": REASON, **body})


def _entries(settings: Settings) -> list[dict]:
    return AuditLog(settings.api.audit_log).entries()


def _search_total(client: TestClient) -> tuple[int, set[str]]:
    body = client.get("/search", params={"q": QUERY}, headers=_dr()).json()
    return body["total"], {r["patient_id"] for r in body["results"]}


# -- the grant opens that patient, in every endpoint, and only while valid ---------------------------
def test_a_grant_opens_one_patient_everywhere_until_it_expires(site) -> None:  # noqa: ANN001
    client, settings, clock = site
    assert client.get(f"/patients/{P1}", headers=_dr()).status_code == 404
    assert client.get(f"/documents/{RPT_T001}", headers=_dr()).status_code == 404
    before = _search_total(client)
    assert P1 not in before[1]

    response = _break(client)
    assert response.status_code == 201, response.text
    grant = response.json()
    assert grant["patient_id"] == P1 and grant["user"] == DR and grant["motive"] == "urgence" and grant["active"]
    expires = datetime.fromisoformat(grant["expires_at"])
    assert expires - datetime.fromisoformat(grant["created_at"]) == timedelta(minutes=240)  # the default

    assert client.get(f"/patients/{P1}", headers=_dr()).status_code == 200
    assert client.get(f"/patients/{P1}/timeline", headers=_dr()).status_code == 200
    assert client.get(f"/documents/{RPT_T001}", headers=_dr()).status_code == 200
    total, patients = _search_total(client)
    assert total > before[0] and patients == before[1] | {P1}  # inside retrieval: the count includes them
    assert client.get(f"/patients/{P3}", headers=_dr()).status_code == 404  # that patient only
    assert client.get(f"/documents/{RPT_T001}", headers=_dr(OTHER_DR)).status_code == 404  # that user only
    assert [g["id"] for g in client.get("/access/break-glass", headers=_dr()).json()["grants"]] == [grant["id"]]

    clock.now = expires + timedelta(seconds=1)
    assert client.get(f"/patients/{P1}", headers=_dr()).status_code == 404
    assert client.get(f"/documents/{RPT_T001}", headers=_dr()).status_code == 404
    assert _search_total(client) == before
    assert client.get("/access/break-glass", headers=_dr()).json()["total"] == 0


def test_accesses_under_a_grant_are_marked_with_its_id(site) -> None:  # noqa: ANN001
    client, settings, _ = site
    gid = _break(client).json()["id"]
    client.get(f"/patients/{P1}", headers=_dr())
    client.get(f"/documents/{RPT_T001}", headers=_dr())
    client.get(f"/documents/{RPT_T002}", headers=_dr())  # P900002, in the clinician's own unit
    entries = _entries(settings)
    opened = next(e for e in entries if e["action"] == "break_glass")
    assert (opened["grant_id"], opened["patient_id"], opened["motive"], opened["justification"]) == (gid, P1, "urgence", REASON)
    assert opened["break_glass"] == [gid]
    view = next(e for e in entries if e["action"] == "patient_view")
    assert view["break_glass"] == [gid]
    reads = {e["document_id"]: e for e in entries if e["action"] == "document_read"}
    assert reads[RPT_T001]["break_glass"] == [gid]
    assert "break_glass" not in reads[RPT_T002]  # an access within the standing scope is not marked
    assert verify_chain(settings.api.audit_log).ok


def test_grants_survive_a_restart_of_the_api(site, encoder) -> None:  # noqa: ANN001
    client, settings, clock = site
    assert _break(client).status_code == 201
    restarted = _client(settings, encoder, clock)
    assert restarted.get(f"/patients/{P1}", headers=_dr()).status_code == 200


# -- who may break the glass ---------------------------------------------------------------------
def test_only_a_restricted_clinician_breaks_the_glass(site) -> None:  # noqa: ANN001
    client, settings, _ = site
    assert _break(client, headers=auth("researcher", "chercheur", units=["Urgences"])).status_code == 403
    assert _break(client, headers=auth("admin", ADMIN)).status_code == 403
    assert _break(client, headers=auth("auditor", DPO)).status_code == 403
    unrestricted = _break(client, headers=auth("clinician", "dr.libre"))
    assert unrestricted.status_code == 409 and "inutile" in unrestricted.json()["detail"]
    denied = [e for e in _entries(settings) if e["action"] == "denied"]
    assert {e["user"] for e in denied} == {"chercheur", ADMIN, DPO}  # refusals are audited
    assert not [e for e in _entries(settings) if e["action"] == "break_glass"]


def test_a_service_account_cannot_break_the_glass(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    """An API key names no person to hold accountable: 403 even for a restricted clinician key."""
    key = KeyStore(tmp_path / "api_keys.json").create("passerelle", ["clinician"], units=["Urgences"])
    client = _client(_settings(indexed, tmp_path, keys_file=tmp_path / "api_keys.json"), encoder, Clock())
    assert _break(client, headers={"X-API-Key": key}).status_code == 403


def test_an_unreadable_grant_store_leaves_the_standing_scope(site) -> None:  # noqa: ANN001
    client, settings, _ = site
    assert _break(client).status_code == 201
    settings.api.user_data.write_bytes(b"not a database")
    assert client.get(f"/documents/{RPT_T002}", headers=_dr()).status_code == 200  # own unit: still readable
    assert client.get(f"/documents/{RPT_T001}", headers=_dr()).status_code == 404  # the grant cannot be read


@pytest.mark.parametrize("body", [
    {"reason": "urgence"},                       # too short to say anything the motive does not
    {"reason": ""},
    {"motive": "curiosité"},                     # not a motive of the list
    {"patient_id": "P1 OR 1=1"},
])
def test_a_grant_needs_a_motive_of_the_list_and_a_real_reason(site, body) -> None:  # noqa: ANN001
    client, _, _ = site
    patient = body.pop("patient_id", P1)
    assert _break(client, patient, **body).status_code == 422


def test_the_answer_does_not_say_whether_a_patient_exists(site) -> None:  # noqa: ANN001
    """Same status and same fields for an existing patient of another unit and an id nobody has: the
    endpoint is no oracle of which ids exist (the grant for a missing id opens nothing)."""
    client, _, _ = site
    existing, missing = _break(client, P3), _break(client, "P999999")
    assert existing.status_code == missing.status_code == 201
    assert existing.json().keys() == missing.json().keys()
    assert client.get("/patients/P999999", headers=_dr()).status_code == 404


def test_the_number_of_valid_grants_is_capped(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    client = _client(_settings(indexed, tmp_path, break_glass_max_active=2), encoder, Clock())
    assert [_break(client, p).status_code for p in (P1, P3, "P900004")] == [201, 201, 429]


def test_a_site_can_turn_it_off(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    client = _client(_settings(indexed, tmp_path, break_glass_enabled=False), encoder, Clock())
    assert _break(client).status_code == 404


def test_the_duration_is_configurable(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    client = _client(_settings(indexed, tmp_path, break_glass_minutes=30), encoder, Clock())
    grant = _break(client).json()
    assert datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(grant["created_at"]) == timedelta(minutes=30)


# -- research does not see break-the-glass patients ------------------------------------------------
def test_cohorts_do_not_include_a_break_glass_patient(site) -> None:  # noqa: ANN001
    client, _, _ = site
    assert _break(client).status_code == 201
    evaluated = client.post("/cohorts/evaluate", json={"criteria": [{"q": QUERY}]}, headers=_dr())
    assert evaluated.status_code == 200 and evaluated.json()["patients"] == []
    # while /search/patients (care) lists them
    found = client.get("/search/patients", params={"q": QUERY}, headers=_dr()).json()
    assert [p["patient_id"] for p in found["patients"]] == [P1]


# -- review and revocation -------------------------------------------------------------------------
def test_the_dpo_reviews_every_grant_and_an_admin_sees_metadata_only(site) -> None:  # noqa: ANN001
    client, settings, _ = site
    gid = _break(client).json()["id"]
    client.get(f"/patients/{P1}", headers=_dr())
    dpo = client.get("/audit/break-glass", headers=auth("auditor", DPO)).json()
    assert dpo["total"] == 1 and dpo["grants"][0]["reason"] == REASON and dpo["grants"][0]["patient_id"] == P1
    admin = client.get("/audit/break-glass", headers=auth("admin", ADMIN)).json()
    assert admin["redacted"] and admin["grants"][0]["id"] == gid
    assert "reason" not in admin["grants"][0] and "patient_id" not in admin["grants"][0]
    assert client.get("/audit/break-glass", headers=_dr()).status_code == 403
    marked = client.get("/audit", params={"break_glass": "true"}, headers=auth("auditor", DPO)).json()
    assert {e["action"] for e in marked["entries"]} == {"break_glass", "patient_view"}
    entry = next(e for e in _entries(settings) if e["action"] == "break_glass")
    assert "justification" not in redacted(entry) and redacted(entry)["grant_id"] == gid
    export = client.get("/audit/export", params={"break_glass": "true"}, headers=auth("auditor", DPO))
    assert export.status_code == 200 and REASON in export.text and gid in export.text


def test_a_grant_is_revoked_by_an_admin_or_ended_by_its_owner_only(site) -> None:  # noqa: ANN001
    client, settings, _ = site
    gid = _break(client).json()["id"]
    assert client.delete(f"/access/break-glass/{gid}", headers=_dr(OTHER_DR)).status_code == 404
    assert client.get(f"/patients/{P1}", headers=_dr()).status_code == 200
    assert client.delete(f"/access/break-glass/{gid}", headers=auth("admin", ADMIN)).status_code == 204
    assert client.get(f"/patients/{P1}", headers=_dr()).status_code == 404
    revoked = client.get("/audit/break-glass", headers=auth("auditor", DPO)).json()["grants"][0]
    assert revoked["revoked_by"] == ADMIN and revoked["active"] is False
    assert [e["grant_id"] for e in _entries(settings) if e["action"] == "break_glass_revoke"] == [gid]
    own = _break(client).json()["id"]
    assert client.delete(f"/access/break-glass/{own}", headers=_dr()).status_code == 204
    assert client.get("/access/break-glass", headers=_dr()).json()["total"] == 0


def test_the_cli_exports_the_break_glass_review(site, tmp_path: Path) -> None:  # noqa: ANN001
    """``medsearch audit export --break-glass``: the grants and the accesses under them, nothing else."""
    import csv

    from typer.testing import CliRunner

    from indexer.cli import app as cli

    client, settings, _ = site
    gid = _break(client).json()["id"]
    client.get(f"/patients/{P1}", headers=_dr())
    client.get(f"/documents/{RPT_T002}", headers=_dr())  # own unit: not part of the review
    out = tmp_path / "bris-de-glace.csv"
    done = CliRunner().invoke(cli, ["audit", "export", "--break-glass", "-o", str(out), "--log", str(settings.api.audit_log)])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["action"] for r in rows] == ["break_glass", "patient_view"] and all(gid in r["details"] for r in rows)
    assert REASON in rows[0]["details"]
