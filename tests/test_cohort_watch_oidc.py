"""Watched cohorts of users of the hospital's OIDC provider: refreshed with the rights snapshot their
last verified token left (if recent enough), skipped otherwise, and whatever a refresh stored, shown
to the owner only within their current rights."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from auth_support import auth
from user_data_support import store_before_watch
from bench.lexical_overhead import HashEncoder
from indexer.jobs import run_job
from indexer.settings import Settings
from search_api.app import create_app
from search_api.audit import AuditLog
from search_api.cohort_watch import AUDIT_ACTION, refresh_watched
from search_api.security.owners import STALE_RIGHTS
from search_api.security.users import UserStore
from search_api.user_data import UserDataStore

ISSUER = "https://keycloak.example/realms/medsearch"
EP = {"criteria": [{"q": "embolie pulmonaire"}]}
A, B = "Cardiologie", "Pneumologie"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _report(folder: Path, name: str, patient: str, unit: str, text: str) -> None:
    (folder / f"{name}.txt").write_text(f"Examen : Angioscanner thoracique\nIPP : {patient}\nService : {unit}\n\n{text}\n",
                                        encoding="utf-8")


def oidc(user: str = "dr.kc", units: list[str] | None = None, roles: tuple[str, ...] = ("clinician",)) -> dict[str, str]:
    """A Keycloak-shaped token of the external issuer (RS256, realm roles, a units claim)."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": ["medsearch", "account"], "sub": f"kc-{user}", "preferred_username": user,
              "iat": now, "exp": now + 300, "jti": f"{now}-{units}", "email": f"{user}@chu.example",
              "realm_access": {"roles": [*roles, "offline_access"]}}
    if units is not None:
        claims["units"] = units
    return {"Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='RS256', headers={'kid': 'kc-1'})}"}


@pytest.fixture()
def site(tmp_path: Path):  # noqa: ANN201
    """Reports of two care units (A, B), an external OIDC issuer (JWKS file), an API."""
    folder = tmp_path / "exports"
    folder.mkdir()
    _report(folder, "r1", "P100001", A, "Embolie pulmonaire bilatérale proximale.")
    _report(folder, "r2", "P100002", B, "Embolie pulmonaire segmentaire droite.")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "kc-1", "use": "sig", "alg": "RS256"}]}))
    settings = Settings(
        index={"dir": tmp_path / "var" / "index"},
        api={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"},
        security={"users_file": tmp_path / "users.json", "keys_file": tmp_path / "keys.json", "jwt_issuer": ISSUER,
                  "jwt_audience": "medsearch", "jwks_file": tmp_path / "jwks.json",
                  "local_login": True},  # local accounts beside OIDC: off unless set (README « Security »)
        sources=[{"name": "exports", "paths": [folder]}],
    )
    encoder = HashEncoder()
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    client = TestClient(create_app(settings, encoder=encoder))
    return settings, folder, encoder, client


def _save(client: TestClient, headers: dict) -> dict:
    response = client.post("/cohorts", json={"name": "EP", "definition": EP, "watch": True}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _listed(client: TestClient, headers: dict) -> dict:
    response = client.get("/cohorts", headers=headers)
    assert response.status_code == 200, response.text
    [cohort] = response.json()
    return cohort


def _index_two_new(settings: Settings, folder: Path, encoder: HashEncoder) -> None:
    _report(folder, "r3", "P100003", A, "Embolie pulmonaire lobaire inférieure gauche.")
    _report(folder, "r4", "P100004", B, "Embolie pulmonaire sous-segmentaire.")
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"


def _watch_rows(settings: Settings) -> list[dict]:
    return [e for e in AuditLog(settings.api.audit_log).entries() if e["action"] == AUDIT_ACTION]


def test_oidc_owner_refreshed_from_a_fresh_snapshot_then_shown_only_what_their_current_token_allows(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    both = oidc(units=[A, B])
    saved = _save(client, both)
    assert saved["members"] == ["P100001", "P100002"]
    store = UserDataStore(settings.api.user_data)
    snapshot = store.rights_snapshot("dr.kc")
    # only what principal_from_claims reads: no token, no signature, no expiry, no e-mail
    assert snapshot["issuer"] == ISSUER and snapshot["claims"] == {
        "iss": ISSUER, "sub": "kc-dr.kc", "preferred_username": "dr.kc",
        "realm_access": {"roles": ["clinician", "offline_access"]}, "units": [A, B]}

    _index_two_new(settings, folder, encoder)
    [row] = _watch_rows(settings)
    assert row["on_behalf_of"] == "dr.kc" and row["rights"] == f"rights snapshot of {snapshot['seen_at']}"
    assert row["new"] == ["P100003", "P100004"]
    stored = store.cohort("dr.kc", saved["id"])
    assert stored["refresh_error"] is None and stored["new_patient_ids"] == ["P100003", "P100004"]

    # unit B withdrawn in Keycloak: the refresh's stored result (made with A and B) shows only A
    only_a = oidc(units=[A])
    listed = _listed(client, only_a)
    assert listed["new_patients"] == 1 and listed["new_patient_ids"] == ["P100003"]
    assert listed["members"] == ["P100001", "P100003"]
    assert store.cohort("dr.kc", saved["id"])["new_patient_ids"] == ["P100003", "P100004"]  # the filter did it
    opened = client.get(f"/cohorts/{saved['id']}", headers=only_a).json()
    assert (opened["members"], opened["new_patient_ids"], opened["new_patients"]) == (["P100001", "P100003"], ["P100003"], 1)
    renamed = client.put(f"/cohorts/{saved['id']}", json={"name": "EP2", "definition": EP}, headers=only_a).json()
    assert renamed["members"] == ["P100001", "P100003"]
    run = client.post(f"/cohorts/{saved['id']}/run", headers=only_a).json()
    assert [p["patient_id"] for p in run["patients"]] == ["P100001", "P100003"] and run["total"] == 2
    assert run["left"] == [] and run["new"] == 0  # P100002 / P100004 neither « left » nor named
    # the snapshot followed the new token: the next refresh runs with A only
    assert store.rights_snapshot("dr.kc")["claims"]["units"] == [A]
    store.close()


def test_unrestricted_stored_result_hidden_from_a_patient_restricted_token(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    saved = _save(client, oidc(units=None))
    _index_two_new(settings, folder, encoder)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "medsearch", "sub": "kc-dr.kc", "preferred_username": "dr.kc", "iat": now,
              "exp": now + 300, "realm_access": {"roles": ["clinician"]}, "patients": ["P100004"]}
    one = {"Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='RS256', headers={'kid': 'kc-1'})}"}
    listed = _listed(client, one)
    assert (listed["members"], listed["new_patient_ids"], listed["new_patients"]) == (["P100004"], ["P100004"], 1)
    assert client.get(f"/cohorts/{saved['id']}", headers=one).json()["members"] == ["P100004"]


def test_snapshot_too_old_or_missing_is_skipped_with_a_clear_reason(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    saved = _save(client, oidc(units=[A, B]))
    store = UserDataStore(settings.api.user_data)
    snapshot = store.rights_snapshot("dr.kc")
    old = (datetime.now(timezone.utc) - timedelta(hours=73)).isoformat(timespec="seconds")
    store.record_rights("dr.kc", ISSUER, snapshot["claims"], old)
    ghost = store.add_cohort("dr.ghost", "EP", EP, ["P100001"], watch=True)  # an OIDC user never seen

    _index_two_new(settings, folder, encoder)
    assert _watch_rows(settings) == []  # nothing evaluated, nothing stored
    stale = store.cohort("dr.kc", saved["id"])
    assert stale["refresh_error"].startswith(f"skipped: {STALE_RIGHTS}") and stale["last_refreshed"] is None
    assert stale["new_patient_ids"] == []
    missing = store.cohort("dr.ghost", ghost["id"])
    assert missing["refresh_error"].startswith("skipped: owner unknown") and "no rights snapshot" in missing["refresh_error"]

    # a larger configured maximum age accepts the same snapshot
    longer = settings.model_copy(update={"api": settings.api.model_copy(update={"watch_rights_max_age_hours": 100})})
    outcomes = {o.owner: o for o in refresh_watched(longer, encoder=encoder)}
    assert outcomes["dr.kc"].status == "refreshed" and outcomes["dr.kc"].rights == f"rights snapshot of {old}"
    assert outcomes["dr.ghost"].status == "skipped"
    # 0 = snapshots never used
    never = settings.model_copy(update={"api": settings.api.model_copy(update={"watch_rights_max_age_hours": 0})})
    assert {o.owner: o.status for o in refresh_watched(never, encoder=encoder)}["dr.kc"] == "skipped"
    store.close()


def test_a_withdrawn_role_reaches_the_watch_through_the_snapshot(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    saved = _save(client, oidc(units=[A]))
    assert client.get("/cohorts", headers=oidc(roles=())).status_code == 403  # no medsearch role any more
    _index_two_new(settings, folder, encoder)
    store = UserDataStore(settings.api.user_data)
    assert store.cohort("dr.kc", saved["id"])["refresh_error"] == "skipped: owner disabled: no medsearch role"
    store.close()


def test_snapshot_written_when_rights_change_or_age_not_on_every_request(site) -> None:  # noqa: ANN001
    settings, _, _, client = site
    recorder = client.app.state.security.rights
    for _ in range(4):
        assert client.get("/cohorts", headers=oidc(units=[A])).status_code == 200
    assert recorder.writes == 1
    store = UserDataStore(settings.api.user_data)
    first = store.rights_snapshot("dr.kc")["seen_at"]
    assert client.get("/cohorts", headers=oidc(units=[A, B])).status_code == 200  # rights changed: written
    assert recorder.writes == 2 and store.rights_snapshot("dr.kc")["claims"]["units"] == [A, B]
    later = datetime.now(timezone.utc) + timedelta(minutes=6)
    recorder.clock = lambda: later  # same rights, older than the refresh interval: seen_at moves on
    assert client.get("/cohorts", headers=oidc(units=[A, B])).status_code == 200
    assert recorder.writes == 3 and store.rights_snapshot("dr.kc")["seen_at"] == later.isoformat(timespec="seconds") != first
    # a local-issuer token is not recorded: local accounts are read from users_file
    UserStore(settings.security.users_file).add("dr.local", ["clinician"], password="x" * 12)
    assert client.get("/cohorts", headers=auth("clinician", "dr.local", security=settings.security)).status_code == 200
    assert recorder.writes == 3 and store.rights_snapshot("dr.local") is None
    # a new process (empty cache) does not re-write a snapshot that is still fresh
    from search_api.security.rights import RightsRecorder

    fresh = RightsRecorder(settings.security, store, clock=lambda: later + timedelta(minutes=1))
    fresh.seen("dr.kc", jwt.decode(oidc(units=[A, B])["Authorization"][7:], options={"verify_signature": False}))
    assert fresh.writes == 0
    store.close()


def test_local_accounts_and_keys_are_audited_with_their_source(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    from search_api.security.keys import KeyStore

    UserStore(settings.security.users_file).add("dr.local", ["clinician"], password="x" * 12)
    _save(client, auth("clinician", "dr.local", security=settings.security))
    key = KeyStore(settings.security.keys_file).create("pacs", ["clinician"])
    _save(client, {"X-API-Key": key})
    _index_two_new(settings, folder, encoder)
    assert {e["on_behalf_of"]: e["rights"] for e in _watch_rows(settings)} == {"dr.local": "account", "key:pacs": "key"}


def test_an_existing_store_gains_the_snapshot_table(tmp_path: Path) -> None:
    path = tmp_path / "user_data.sqlite"
    store_before_watch(path, "dr.kc")
    store = UserDataStore(path)
    assert store.rights_snapshot("dr.kc") is None
    store.record_rights("dr.kc", ISSUER, {"preferred_username": "dr.kc"}, "2026-01-01T00:00:00+00:00")
    store.record_rights("dr.kc", ISSUER, {"preferred_username": "dr.kc", "units": [A]}, "2026-01-02T00:00:00+00:00")
    store.close()
    again = UserDataStore(path)
    assert again.rights_snapshot("dr.kc") == {"issuer": ISSUER, "claims": {"preferred_username": "dr.kc", "units": [A]},
                                              "seen_at": "2026-01-02T00:00:00+00:00"}
    assert [c["name"] for c in again.cohorts("dr.kc")] == ["old"]
    again.close()


def test_a_clinician_become_researcher_never_sees_the_stored_real_ids(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    saved = _save(client, oidc(units=[A, B]))
    _index_two_new(settings, folder, encoder)
    assert _listed(client, oidc(units=[A, B]))["new_patient_ids"] == ["P100003", "P100004"]
    researcher = oidc(units=[A, B], roles=("researcher",))
    listed = _listed(client, researcher)
    assert (listed["members"], listed["new_patient_ids"], listed["new_patients"]) == ([], [], 0)
    run = client.post(f"/cohorts/{saved['id']}/run", headers=researcher).json()
    assert run["left"] == [] and all(p["patient_id"].startswith("PSN-") for p in run["patients"]) and run["total"] == 4


def _opened(settings: Settings) -> list[dict]:
    return [e for e in AuditLog(settings.api.audit_log).entries() if e["action"] == "cohort_open"]


def test_news_hidden_by_todays_rights_stay_unseen_until_the_owner_may_see_them(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    both, only_a = oidc(units=[A, B]), oidc(units=[A])
    saved = _save(client, both)
    _index_two_new(settings, folder, encoder)  # refreshed with A and B: P100003 (A) and P100004 (B) are new
    store = UserDataStore(settings.api.user_data)

    # unit B withdrawn: the owner opens the cohort and is shown P100003 only
    opened = client.get(f"/cohorts/{saved['id']}", headers=only_a).json()
    assert (opened["new_patient_ids"], opened["new_patients"]) == (["P100003"], 1)
    assert store.cohort("dr.kc", saved["id"])["new_patient_ids"] == ["P100004"]  # not marked seen
    listed = _listed(client, only_a)  # nor counted nor named while hidden
    assert (listed["new_patients"], listed["new_patient_ids"], listed["members"]) == (0, [], ["P100001", "P100003"])
    again = client.get(f"/cohorts/{saved['id']}", headers=only_a).json()
    assert (again["new_patient_ids"], again["new_patients"]) == ([], 0)

    # unit B given back: P100004 now shows as new, in the list and on opening, then is seen
    listed = _listed(client, both)
    assert (listed["new_patients"], listed["new_patient_ids"]) == (1, ["P100004"])
    assert listed["members"] == ["P100001", "P100002", "P100003", "P100004"]
    widened = client.get(f"/cohorts/{saved['id']}", headers=both).json()
    assert (widened["new_patient_ids"], widened["new_patients"]) == (["P100004"], 1)
    assert _listed(client, both)["new_patients"] == 0
    assert store.cohort("dr.kc", saved["id"])["members"] == ["P100001", "P100002", "P100003", "P100004"]

    # the audit names what each opening showed, never the hidden patient
    assert [(e["new"], e["returned"]) for e in _opened(settings)] == [
        (["P100003"], ["P100001", "P100003"]), ([], ["P100001", "P100003"]),
        (["P100004"], ["P100001", "P100002", "P100003", "P100004"])]
    assert all(e["user"] == "dr.kc" and e["cohort_id"] == saved["id"] for e in _opened(settings))
    store.close()


def test_a_rerun_with_narrower_rights_leaves_the_hidden_news_unseen(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    both, only_a = oidc(units=[A, B]), oidc(units=[A])
    saved = _save(client, both)
    _index_two_new(settings, folder, encoder)
    run = client.post(f"/cohorts/{saved['id']}/run", headers=only_a).json()
    assert [(p["patient_id"], p["new"]) for p in run["patients"]] == [("P100001", False), ("P100003", True)]
    assert _listed(client, only_a)["new_patients"] == 0
    listed = _listed(client, both)
    assert (listed["new_patients"], listed["new_patient_ids"]) == (1, ["P100004"])
    assert "P100004" in listed["members"]
    # the next refresh (rights snapshot: A and B again) still finds P100004 new: the owner never saw it
    [outcome] = refresh_watched(settings, encoder=encoder)
    assert outcome.status == "refreshed" and "P100004" in outcome.new


def test_a_researcher_opening_leaves_the_clinicians_news_unseen(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    both = oidc(units=[A, B])
    saved = _save(client, both)
    _index_two_new(settings, folder, encoder)
    researcher = oidc(units=[A, B], roles=("researcher",))
    opened = client.get(f"/cohorts/{saved['id']}", headers=researcher).json()
    assert (opened["members"], opened["new_patient_ids"]) == ([], [])  # stored real IPPs: hidden from a researcher
    assert _listed(client, both)["new_patient_ids"] == ["P100003", "P100004"]
    assert _opened(settings)[0]["new"] == [] and _opened(settings)[0]["returned"] == []
