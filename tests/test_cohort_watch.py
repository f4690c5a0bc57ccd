"""Watched cohorts (« saved queries re-run monthly »): refreshed after each index publication with
the owner's scope, new patients counted until the owner looks, failures isolated, audited, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from auth_support import auth
from user_data_support import store_before_watch
from bench.lexical_overhead import HashEncoder
from indexer.jobs import run_job
from indexer.settings import Settings
from search_api.app import create_app
from search_api.audit import AuditLog, verify_chain
from search_api.cohort_watch import AUDIT_ACTION, SYSTEM_USER
from search_api.security.users import UserStore
from search_api.user_data import UserDataStore

EP = {"criteria": [{"q": "embolie pulmonaire"}]}
CARDIO = ["Cardiologie"]


def _report(folder: Path, name: str, patient: str, unit: str, text: str) -> None:
    (folder / f"{name}.txt").write_text(f"Examen : Angioscanner thoracique\nIPP : {patient}\nService : {unit}\n\n{text}\n",
                                        encoding="utf-8")


@pytest.fixture()
def site(tmp_path: Path):  # noqa: ANN201
    """A site: reports of two care units, local accounts (one restricted to cardiology), an API."""
    folder = tmp_path / "exports"
    folder.mkdir()
    _report(folder, "r1", "P100001", "Cardiologie", "Embolie pulmonaire bilatérale proximale.")
    _report(folder, "r2", "P100002", "Pneumologie", "Embolie pulmonaire segmentaire droite.")
    settings = Settings(
        index={"dir": tmp_path / "var" / "index"},
        api={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"},
        security={"users_file": tmp_path / "users.json", "keys_file": tmp_path / "keys.json"},
        sources=[{"name": "exports", "paths": [folder]}],
    )
    users = UserStore(settings.security.users_file)
    users.add("dr.all", ["clinician"], password="x" * 12)
    users.add("dr.cardio", ["clinician"], password="x" * 12, units=CARDIO)
    encoder = HashEncoder()
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    client = TestClient(create_app(settings, encoder=encoder))
    return settings, folder, encoder, client


ALL = auth("clinician", "dr.all")
CARDIO_ONLY = auth("clinician", "dr.cardio", units=CARDIO)


def _save(client: TestClient, headers: dict, name: str = "EP", watch: bool = True, definition: dict = EP) -> dict:
    response = client.post("/cohorts", json={"name": name, "definition": definition, "watch": watch}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _listed(client: TestClient, headers: dict) -> dict[str, dict]:
    response = client.get("/cohorts", headers=headers)
    assert response.status_code == 200, response.text
    return {c["name"]: c for c in response.json()}


def test_refresh_after_an_index_run_counts_new_patients_in_the_owners_scope(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    mine = _save(client, ALL)
    theirs = _save(client, CARDIO_ONLY)
    assert mine["watch"] and mine["members"] == ["P100001", "P100002"]
    assert theirs["members"] == ["P100001"]  # the restricted owner sees cardiology only
    assert _listed(client, ALL)["EP"]["new_patients"] == 0

    _report(folder, "r3", "P100003", "Cardiologie", "Embolie pulmonaire lobaire inférieure gauche.")
    _report(folder, "r4", "P100004", "Pneumologie", "Embolie pulmonaire sous-segmentaire.")
    _report(folder, "r5", "P100005", "Cardiologie", "Pas d'anomalie. Fracture costale ancienne.")
    job = run_job(settings.sources[0], settings, encoder=encoder)
    assert job.record.status == "succeeded" and job.record.added == 3

    listed = _listed(client, CARDIO_ONLY)["EP"]
    assert listed["last_refreshed"] and listed["new_patients"] == 1  # P100004 is outside their scope
    assert listed["new_patient_ids"] == ["P100003"] and listed["members"] == ["P100001", "P100003"]
    assert _listed(client, ALL)["EP"]["new_patients"] == 2

    # re-running flags the new patient as today, and marks the news seen
    run = client.post(f"/cohorts/{theirs['id']}/run", headers=CARDIO_ONLY).json()
    assert [(p["patient_id"], p["new"]) for p in run["patients"]] == [("P100001", False), ("P100003", True)]
    assert _listed(client, CARDIO_ONLY)["EP"]["new_patients"] == 0
    # opening marks them seen too
    opened = client.get(f"/cohorts/{mine['id']}", headers=ALL).json()
    assert opened["new_patient_ids"] == ["P100003", "P100004"] and opened["new_patients"] == 2
    assert _listed(client, ALL)["EP"]["new_patients"] == 0
    assert client.get(f"/cohorts/{mine['id']}", headers=CARDIO_ONLY).status_code == 404

    # audited as the system, on behalf of each owner, with the real patients; one unbroken chain
    # although the API and the job each wrote the log
    entries = [e for e in AuditLog(settings.api.audit_log).entries() if e["action"] == AUDIT_ACTION]
    by_owner = {e["on_behalf_of"]: e for e in entries}
    assert {e["user"] for e in entries} == {SYSTEM_USER} and set(by_owner) == {"dr.all", "dr.cardio"}
    assert by_owner["dr.cardio"]["new"] == ["P100003"] and by_owner["dr.cardio"]["returned"] == ["P100001", "P100003"]
    assert by_owner["dr.cardio"]["role"] == "clinician" and by_owner["dr.cardio"]["trigger"] == f"job:{job.record.id}"
    assert by_owner["dr.cardio"]["rights"] == "account"  # the rights' source (tests/test_cohort_watch_oidc.py: snapshots)
    assert verify_chain(settings.api.audit_log).ok


def test_a_refresh_keeps_the_excluded_out_and_their_decisions(site) -> None:  # noqa: ANN001
    """A patient decided « exclu » (screening) is not counted new nor a member by the watch."""
    settings, folder, encoder, client = site
    saved = _save(client, ALL)
    assert client.put(f"/cohorts/{saved['id']}/decisions/P100002", json={"status": "excluded", "reason": "refus"},
                      headers=ALL).status_code == 200
    _report(folder, "r3", "P100003", "Cardiologie", "Embolie pulmonaire lobaire.")
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    listed = _listed(client, ALL)["EP"]
    assert listed["new_patient_ids"] == ["P100003"] and "P100002" not in listed["members"]
    assert [(d["patient_id"], d["status"], d["reason"]) for d in listed["decisions"]] == [("P100002", "excluded", "refus")]


def test_unwatched_cohorts_and_runs_publishing_nothing_are_left_alone(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    _save(client, ALL, watch=False)
    _report(folder, "r3", "P100003", "Cardiologie", "Embolie pulmonaire lobaire.")
    run_job(settings.sources[0], settings, encoder=encoder)
    cohort = _listed(client, ALL)["EP"]
    assert not cohort["watch"] and cohort["last_refreshed"] is None and cohort["new_patients"] == 0
    # watched by an update (definition unchanged); `watch` absent from a later update keeps it
    body = {"name": "EP", "definition": EP}
    assert client.put(f"/cohorts/{cohort['id']}", json={**body, "watch": True}, headers=ALL).json()["watch"] is True
    assert client.put(f"/cohorts/{cohort['id']}", json=body, headers=ALL).json()["watch"] is True


def test_a_failing_cohort_or_owner_does_not_stop_the_others_nor_the_index_run(site, monkeypatch) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    import search_api.cohort_watch as watch

    _save(client, ALL, name="boom")
    _save(client, ALL, name="EP")
    _save(client, auth("clinician", "dr.oidc"), name="EP")  # no local account, no key, no rights snapshot
    real_run = watch.run_cohort

    def run(engine, definition, *args):  # noqa: ANN001, ANN002, ANN202
        if definition.name == "boom":
            raise RuntimeError("evaluation exploded")
        return real_run(engine, definition, *args)

    monkeypatch.setattr(watch, "run_cohort", run)
    _report(folder, "r3", "P100003", "Cardiologie", "Embolie pulmonaire lobaire.")
    job = run_job(settings.sources[0], settings, encoder=encoder)
    assert job.record.status == "succeeded"
    listed = _listed(client, ALL)
    assert listed["boom"]["refresh_error"] == "failed: RuntimeError: evaluation exploded" and listed["boom"]["last_refreshed"] is None
    assert listed["EP"]["new_patients"] == 1 and listed["EP"]["refresh_error"] is None
    skipped = _listed(client, auth("clinician", "dr.oidc"))["EP"]
    assert skipped["refresh_error"].startswith("skipped: owner unknown") and skipped["last_refreshed"] is None

    # a removed (or role-less: disabled) account is skipped the same way
    UserStore(settings.security.users_file).add("dr.all", [], password="x" * 12)
    # and a refresh that raises as a whole never reaches the run
    monkeypatch.setattr(watch, "refresh_watched", lambda *a, **k: 1 / 0)
    _report(folder, "r4", "P100004", "Cardiologie", "Embolie pulmonaire distale.")
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    monkeypatch.undo()
    outcomes = watch.refresh_watched(settings, encoder=encoder)
    assert {(o.name, o.owner, o.status) for o in outcomes} == {
        ("boom", "dr.all", "skipped"), ("EP", "dr.all", "skipped"), ("EP", "dr.oidc", "skipped")}
    assert {o.reason for o in outcomes if o.owner == "dr.all"} == {"owner disabled: no medsearch role"}


def test_cli_refresh_command(site, monkeypatch) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    from indexer.cli import app
    import search_api.cohort_cli as cohort_cli
    import search_api.engine_factory as engine_factory

    theirs = _save(client, CARDIO_ONLY)
    _report(folder, "r3", "P100003", "Cardiologie", "Embolie pulmonaire lobaire.")
    from indexer.pipeline import index_paths

    index_paths([folder], settings, encoder)  # indexed by other means than the jobs: no refresh
    assert _listed(client, CARDIO_ONLY)["EP"]["new_patients"] == 0
    monkeypatch.setattr(cohort_cli, "get_settings", lambda: settings)
    monkeypatch.setattr(engine_factory, "load_encoder", lambda _: encoder)
    done = CliRunner().invoke(app, ["cohorts", "refresh"])
    assert done.exit_code == 0, done.output
    assert f"cohort {theirs['id']} « EP » (dr.cardio): refreshed - 2 patients, 1 new (rights: account)" in done.output
    assert _listed(client, CARDIO_ONLY)["EP"]["new_patient_ids"] == ["P100003"]


def test_researcher_owner_is_refreshed_in_pseudonyms(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    UserStore(settings.security.users_file).add("dr.research", ["researcher"], password="x" * 12)
    headers = auth("researcher", "dr.research")
    saved = _save(client, headers)
    assert all(m.startswith("PSN-") for m in saved["members"]) and len(saved["members"]) == 2
    _report(folder, "r3", "P100003", "Cardiologie", "Embolie pulmonaire lobaire.")
    run_job(settings.sources[0], settings, encoder=encoder)
    listed = _listed(client, headers)["EP"]
    assert listed["new_patients"] == 1 and listed["new_patient_ids"][0].startswith("PSN-")
    run = client.post(f"/cohorts/{saved['id']}/run", headers=headers).json()
    assert [p["patient_id"] for p in run["patients"] if p["new"]] == listed["new_patient_ids"]
    entry = [e for e in AuditLog(settings.api.audit_log).entries() if e["action"] == AUDIT_ACTION][-1]
    assert entry["new"] == ["P100003"] and entry["role"] == "researcher"  # the audit names the real patient



def test_a_researcher_is_not_shown_a_stored_patient_gone_from_the_index(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    UserStore(settings.security.users_file).add("dr.research", ["researcher"], password="x" * 12)
    headers = auth("researcher", "dr.research")
    saved = _save(client, headers, watch=False)
    assert len(saved["members"]) == 2
    (folder / "r2.txt").unlink()  # P100002's only document
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    [kept] = _listed(client, headers)["EP"]["members"]
    assert kept in saved["members"] and kept.startswith("PSN-")


def test_a_restricted_callers_visibility_follows_each_new_index_generation(site) -> None:  # noqa: ANN001
    settings, folder, encoder, client = site
    saved = _save(client, auth("clinician", "dr.cardio", units=[*CARDIO, "Pneumologie"]), watch=False)
    assert saved["members"] == ["P100001", "P100002"]
    for _ in range(2):  # the second call answers from what the first read
        assert _listed(client, CARDIO_ONLY)["EP"]["members"] == ["P100001"]
    _report(folder, "r6", "P100002", "Cardiologie", "Contrôle : pas d'embolie.")  # P100002 now seen in cardiology
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    assert _listed(client, CARDIO_ONLY)["EP"]["members"] == ["P100001", "P100002"]
    (folder / "r6.txt").unlink()
    (folder / "r1.txt").unlink()
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"
    assert _listed(client, CARDIO_ONLY)["EP"]["members"] == []

def test_an_existing_store_gains_the_watch_columns(tmp_path: Path) -> None:
    path = tmp_path / "user_data.sqlite"
    store_before_watch(path, "dr.all")
    store = UserDataStore(path)
    [old] = store.cohorts("dr.all")
    assert (old["watch"], old["last_refreshed"], old["new_patient_ids"], old["members"]) == (False, None, [], ["P1"])
    assert store.update_cohort("dr.all", old["id"], watch=True)["watch"] is True
    store.close()
    UserDataStore(path).close()  # opening again: nothing to add, nothing lost
    assert UserDataStore(path).watched_cohorts()[0]["name"] == "old"


def test_two_writers_keep_one_audit_chain(tmp_path: Path) -> None:
    """The API and the indexing jobs' watch write the same log from two processes."""
    path = tmp_path / "audit.log"
    api, job = AuditLog(path), AuditLog(path)
    for i in range(3):
        api.record("dr.all", "search", n=i)
        job.record(SYSTEM_USER, AUDIT_ACTION, n=i)
    assert [e["seq"] for e in api.entries()] == [1, 2, 3, 4, 5, 6]
    assert verify_chain(path).ok


def test_a_writer_killed_before_its_head_update_does_not_fork_the_chain(tmp_path: Path) -> None:
    """The head file lags one line behind when a writer dies between its append and its head write:
    the next writer continues from the log's last line, not from the stale head."""
    path = tmp_path / "audit.log"
    api, job = AuditLog(path), AuditLog(path)
    api.record("dr.all", "search", n=0)
    stale_head = (tmp_path / "audit.log.head").read_text()
    job.record(SYSTEM_USER, AUDIT_ACTION, n=1)
    (tmp_path / "audit.log.head").write_text(stale_head)  # as if killed before rewriting the head
    api.record("dr.all", "search", n=2)
    assert [e["seq"] for e in api.entries()] == [1, 2, 3]
    assert verify_chain(path).ok


def test_owner_principals_come_from_the_apis_own_stores(tmp_path: Path) -> None:
    from search_api.scope import scope_for
    from search_api.security.keys import KeyStore
    from search_api.security.owners import owner_principal

    security = Settings(security={"users_file": tmp_path / "users.json", "keys_file": tmp_path / "keys.json"}).security
    UserStore(security.users_file).add("dr.cardio", ["clinician"], password="x" * 12, units=CARDIO)
    keys = KeyStore(security.keys_file)
    keys.create("pacs", ["clinician"], units=["Radiologie"])
    local = owner_principal("dr.cardio", security).principal
    assert local is not None and local.via == "jwt" and scope_for(local).allowed_departments == ("Cardiologie",)
    key = owner_principal("key:pacs", security).principal
    assert key is not None and scope_for(key).allowed_departments == ("Radiologie",)
    keys.revoke("pacs")
    assert owner_principal("key:pacs", security).reason.startswith("owner disabled: API key revoked")
    assert owner_principal("key:nope", security).reason == "owner unknown: no such API key"


def test_a_refresh_never_overwrites_a_newer_run_of_the_owner(tmp_path: Path) -> None:
    store = UserDataStore(tmp_path / "user_data.sqlite")
    cohort = store.add_cohort("dr.all", "EP", {}, ["P1"], watch=True)
    store.update_cohort("dr.all", cohort["id"], members=["P1", "P2"])  # the owner re-ran it meanwhile
    assert not store.record_refresh(cohort["id"], ["P1", "P2"], ["P2"], reference=["P1"])
    assert store.cohort("dr.all", cohort["id"])["new_patient_ids"] == []
    assert store.record_refresh(cohort["id"], ["P1", "P2", "P3"], ["P3"], reference=["P1", "P2"])
    assert store.cohort("dr.all", cohort["id"])["new_patient_ids"] == ["P3"]


def test_the_openapi_description_documents_the_watch(site) -> None:  # noqa: ANN001
    _, _, _, client = site
    schema = client.get("/openapi.json").json()
    saved = schema["components"]["schemas"]["SavedCohort"]["properties"]
    assert {"watch", "last_refreshed", "new_patients", "new_patient_ids"} <= set(saved)
    assert "marks them seen" in schema["paths"]["/cohorts/{cohort_id}"]["get"]["description"]
    assert "new_patients" in schema["paths"]["/cohorts"]["get"]["description"]
    assert "watch" in schema["components"]["schemas"]["SaveCohort"]["properties"]


def test_hidden_news_stay_unseen_and_out_of_the_reference_of_new(tmp_path: Path) -> None:
    store = UserDataStore(tmp_path / "user_data.sqlite")
    cohort = store.add_cohort("dr.all", "EP", {}, ["P1"], watch=True)
    assert store.record_refresh(cohort["id"], ["P1", "P2", "P3"], ["P2", "P3"], reference=["P1"])
    refreshed = store.cohort("dr.all", cohort["id"])["last_refreshed"]
    store.mark_seen("dr.all", cohort["id"], refreshed, shown=["P2"])  # P3 hidden from the owner
    seen = store.cohort("dr.all", cohort["id"])
    assert (seen["members"], seen["refreshed_members"], seen["new_patient_ids"]) == (["P1", "P2"], ["P1", "P2", "P3"], ["P3"])
    # the next refresh compares with what the owner saw: P3 is new again
    assert store.record_refresh(cohort["id"], ["P1", "P2", "P3"], ["P3"], reference=["P1", "P2"])
    store.update_cohort("dr.all", cohort["id"], members=["P1", "P2"], shown=[])  # a run that could not see P3
    run = store.cohort("dr.all", cohort["id"])
    assert (run["members"], run["refreshed_members"], run["new_patient_ids"]) == (["P1", "P2"], ["P1", "P2", "P3"], ["P3"])
    store.mark_seen("dr.all", cohort["id"], run["last_refreshed"])  # shown everything
    assert store.cohort("dr.all", cohort["id"])["members"] == ["P1", "P2", "P3"]
    assert store.cohort("dr.all", cohort["id"])["new_patient_ids"] == []
    store.close()
