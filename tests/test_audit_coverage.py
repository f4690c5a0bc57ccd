"""Every access is audited: a walk over the app's own OpenAPI schema (not a list of endpoints).

Each operation is called with valid inputs, as a clinician (and as an admin where the clinician gets
403): each 2xx answer must have appended an audit entry naming the caller, the action and the client,
but for the short ALLOWED list of operations that touch no patient data. Without credentials, each
operation but the PUBLIC ones must answer 401 and leave an ``auth_failed`` entry naming its path; a
403 must leave a ``denied`` entry. A new endpoint fails here until it audits (or is allowed, with a
reason), and one whose inputs this test cannot build fails too (add them to ``BODIES`` / ``PATH_IDS``)
rather than being skipped. Finally no entry may hold a secret, and the chain must verify.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_support import auth, token
from fastapi.testclient import TestClient

from conftest import IMG_T001, RPT_T001
from indexer.jobs.history import JobHistory
from indexer.settings import Settings
from search_api.app import create_app
from search_api.security.audit import iter_entries, verify_chain
from search_api.security.keys import KeyStore
from search_api.security.users import UserStore

#: operations answering 2xx without an audit entry, each because it touches no patient data
ALLOWED: dict[str, str] = {
    "GET /health": "liveness only",
    "GET /health/ready": "readiness: the generation served, or why not; no patient data",
    "GET /auth/jwks.json": "the local issuer's public key",
    "GET /auth/me": "echoes the caller's own verified claims; reads no index",
    "GET /stats": "admin-only index counts (documents and passages per kind, encoder, age): no document, no patient",
    "GET /saved-searches": "the caller's own bookmarks, listed on every portal page; opening one runs /search (audited), "
                           "saving and deleting one are audited",
    "GET /access/break-glass": "the caller's own break-the-glass grants, for the portal's banner on every page; "
                               "opening, using and ending one are audited",
}
#: operations that answer without an identity (login is audited itself: login / login_failed)
PUBLIC = {"GET /health", "GET /health/ready", "GET /auth/jwks.json", "POST /auth/login"}

CLINICIAN, ADMIN = "dr.audit", "dr.admin-audit"
LOCAL_USER, LOCAL_PASSWORD = "dr.local-audit", "correct horse battery staple 42"
P1 = "P900001"
#: the date is far before every fixture report even shifted (a researcher's cohort filters the dates it shows,
#: each patient's shifted by up to 365 days: with 2024-05-01 the researcher's cohort was empty on some keys)
DEFINITION = {"criteria": [{"label": "compte rendu", "kinds": ["report"], "date_from": "2022-01-01"}]}
#: request bodies by the schema's name for them
BODIES: dict[str, Any] = {
    "SearchRequest": {"q": "épanchement pleural", "limit": 5},
    "CohortDefinition": DEFINITION,
    "SaveCohort": {"name": "Audit coverage", "definition": DEFINITION},
    "SavedSearchIn": {"name": "audit coverage", "params": {"q": "fracture", "patient_id": P1}},
    "DecisionIn": {"status": "to_review", "reason": "audit coverage"},
    "DecisionsIn": {"decisions": [{"patient_id": "P900002", "status": "excluded", "reason": "audit coverage"}]},
    "LoginRequest": {"username": LOCAL_USER, "password": LOCAL_PASSWORD},
    "BreakGlassRequest": {"patient_id": P1, "motive": "urgence", "reason": "audit coverage: patient transféré cette nuit"},
}
#: operations only a clinician restricted to units can call (an unrestricted one has no glass to break: 409)
RESTRICTED = {"POST /access/break-glass"}


def _restricted_clinician() -> dict[str, str]:
    return auth("clinician", CLINICIAN, units=["Urgences"])
QUERY = {"q": "épanchement"}  # given to any operation that takes a ``q`` query parameter
_NAMES = itertools.count()
API_KEY: list[str] = []  # the service account's key, made by the fixture


@pytest.fixture(scope="module")
def setup(indexed, encoder, tmp_path_factory, source_folder: Path) -> Iterator[tuple[TestClient, Settings]]:  # noqa: ANN001
    """The app over the fixture index with its own audit log, user data, a local account and a job
    history (the index dir is reached through a link, so the history lands beside the link)."""
    base: Settings = indexed[0]
    root = tmp_path_factory.mktemp("audit-coverage")
    (root / "index").symlink_to(Path(base.index.dir).resolve(), target_is_directory=True)
    UserStore(root / "users.json").add(LOCAL_USER, ["clinician"], password=LOCAL_PASSWORD)
    API_KEY.append(KeyStore(root / "api_keys.json").create("audit-coverage", ["clinician"]))
    JobHistory.for_index(root / "index").record_skipped("fixtures", "manual", [str(source_folder)], "index busy")
    settings = base.model_copy(update={
        "index": base.index.model_copy(update={"dir": root / "index"}),
        "api": base.api.model_copy(update={"audit_log": root / "audit.log", "user_data": root / "user_data.sqlite"}),
        "security": base.security.model_copy(update={
            "users_file": root / "users.json", "keys_file": root / "api_keys.json", "rate_limit_per_minute": 0}),
    })
    with TestClient(create_app(settings, encoder=encoder)) as client:
        yield client, settings


def _entries(settings: Settings) -> list[dict[str, Any]]:
    path = settings.api.audit_log
    return list(iter_entries(path)) if Path(path).exists() else []


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    schema = client.app.openapi()
    return [(method.upper(), path, op) for path, item in schema["paths"].items() for method, op in item.items()]


def _path_ids(client: TestClient, headers: dict[str, str]) -> dict[str, Callable[[str], str]]:
    """How to fill each path parameter: made fresh per call (a cohort or search may be deleted)."""

    def cohort(_: str) -> str:
        created = client.post("/cohorts", json=BODIES["SaveCohort"], headers=headers)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def saved_search(_: str) -> str:
        body = {**BODIES["SavedSearchIn"], "name": f"audit coverage {next(_NAMES)}"}
        created = client.post("/saved-searches", json=body, headers=headers)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def grant(_: str) -> str:
        created = client.post("/access/break-glass", json=BODIES["BreakGlassRequest"], headers=_restricted_clinician())
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def job(_: str) -> str:
        jobs = client.get("/jobs", headers=auth("admin", ADMIN)).json()
        return str(jobs[0]["id"])

    return {
        "doc_id": lambda path: IMG_T001 if path.startswith("/images/") else RPT_T001,
        # a cohort's patient: one its DEFINITION finds (reports from 05/2024: P900002-4)
        "patient_id": lambda path: "P900002" if path.startswith("/cohorts/") else P1,
        "cohort_id": cohort,
        "search_id": saved_search,
        "job_id": job,
        "grant_id": grant,
    }


def _request(client: TestClient, method: str, path: str, op: dict[str, Any], headers: dict[str, str],
             source_folder: Path) -> dict[str, Any]:
    """The keyword arguments of a valid call of *op* (fails the test when it cannot build them)."""
    fillers = _path_ids(client, headers)
    url = path
    for param in op.get("parameters", []):
        name, where = param["name"], param["in"]
        if where == "path":
            assert name in fillers, f"{method} {path}: no value for path parameter {name!r} (add it to _path_ids)"
            url = url.replace("{" + name + "}", fillers[name](path))
        elif where == "query" and param.get("required") and name not in QUERY:
            pytest.fail(f"{method} {path}: no value for required query parameter {name!r}")
    kwargs: dict[str, Any] = {"params": {k: v for k, v in QUERY.items()
                                         if any(p["name"] == k and p["in"] == "query" for p in op.get("parameters", []))}}
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert name in BODIES, f"{method} {path}: no example body for {name} (add it to BODIES)"
        kwargs["json"] = BODIES[name]
    elif "multipart/form-data" in content:
        figure = next(source_folder.rglob("ART-T01-fig1.png")).read_bytes()
        kwargs["files"] = {"file": ("query.png", figure, "image/png")}
    else:
        assert not content, f"{method} {path}: unknown body type {list(content)}"
    return {"method": method, "url": url, **kwargs}


def _new(settings: Settings, before: int) -> list[dict[str, Any]]:
    return _entries(settings)[before:]


def test_every_operation_is_authenticated_and_audited(setup, source_folder: Path) -> None:  # noqa: ANN001
    client, settings = setup
    clinician, admin = auth("clinician", CLINICIAN), auth(["clinician", "admin"], ADMIN)
    missing: list[str] = []
    operations = _operations(client)
    assert len(operations) > 20 and {f"{m} {p}" for m, p, _ in operations} >= set(ALLOWED) | PUBLIC  # no stale names
    for method, path, op in operations:
        key = f"{method} {path}"
        if key not in PUBLIC:  # no identity: 401, audited as a failed authentication on this path
            request = _request(client, method, path, op, clinician, source_folder)
            before = len(_entries(settings))
            response = client.request(**request)
            assert response.status_code == 401, f"{key} answered {response.status_code} without credentials"
            assert any(e["action"] == "auth_failed" and e.get("path") == request["url"] and e.get("client")
                       for e in _new(settings, before)), f"{key}: the refused call left no auth_failed entry"
        headers, user = (_restricted_clinician() if key in RESTRICTED else clinician), CLINICIAN
        request = _request(client, method, path, op, headers, source_folder)
        before = len(_entries(settings))
        response = client.request(**request, headers=headers)
        if response.status_code == 403:  # an admin's operation: the clinician's denial is audited
            assert any(e["action"] == "denied" and e["user"] == CLINICIAN and e.get("path") == request["url"]
                       for e in _new(settings, before)), f"{key}: the 403 left no denied entry"
            headers, user = admin, ADMIN
            request = _request(client, method, path, op, headers, source_folder)
            before = len(_entries(settings))
            response = client.request(**request, headers=headers)
        if key == "POST /auth/login":
            user = LOCAL_USER
        assert 200 <= response.status_code < 300, f"{key}: {response.status_code} {response.text[:300]}"
        audited = [e for e in _new(settings, before) if e["user"] == user and e.get("action")
                   and e["action"] not in ("auth_failed", "denied") and e.get("client")]
        if key in ALLOWED:
            continue
        if not audited:
            missing.append(key)
    assert not missing, f"2xx answers without an audit entry (who, action, client): {missing}"


def test_patients_are_named_by_their_real_ids_for_researchers(setup) -> None:  # noqa: ANN001
    """A researcher sees pseudonyms; the audit of the endpoints fixed here names the real patients."""
    client, settings = setup
    researcher = auth("researcher", "dr.research-audit")
    saved = client.post("/cohorts", json=BODIES["SaveCohort"], headers=researcher)
    assert saved.status_code == 201, saved.text
    shown = saved.json()["members"]
    assert shown and all(not p.startswith("P9") for p in shown)  # pseudonyms on screen
    before = len(_entries(settings))
    assert client.get("/cohorts", headers=researcher).status_code == 200
    by_hand = {**BODIES["SaveCohort"], "definition": {**BODIES["SaveCohort"]["definition"], "excluded": [shown[0]]}}
    assert client.put(f"/cohorts/{saved.json()['id']}", json=by_hand, headers=researcher).status_code == 200
    results = client.get("/search", params={"q": "épanchement"}, headers=researcher).json()["results"]
    document = next(r["id"] for r in results if r.get("patient_id"))
    assert client.get(f"/documents/{document}/links", headers=researcher).status_code == 200
    entries = {e["action"]: e for e in _new(settings, before)}
    assert sorted(entries["cohort_list"]["returned"]) == sorted(entries["cohort_update"]["returned"])
    assert entries["cohort_update"]["returned"] and all(p.startswith("P9") for p in entries["cohort_update"]["returned"])
    # a patient excluded by hand through the pseudonym shown is recorded by its real id
    [excluded] = entries["cohort_update"]["definition"]["excluded"]
    assert excluded.startswith("P9") and excluded != shown[0]
    assert entries["document_links"]["patient_id"].startswith("P9")
    assert entries["document_links"]["document_id"] != document  # the real id, not the pseudonymised one shown


def test_no_secret_in_the_log_and_the_chain_verifies(setup) -> None:  # noqa: ANN001
    """Runs after the walk (same module): its log holds logins, tokens sent, keys; none may be written."""
    client, settings = setup
    login = client.post("/auth/login", json=BODIES["LoginRequest"])
    assert login.status_code == 200
    client.get("/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    client.post("/auth/login", json={"username": LOCAL_USER, "password": "wrong " + LOCAL_PASSWORD})
    client.get("/search", params={"q": "x"}, headers={"Authorization": "Bearer " + token("clinician", CLINICIAN)[:-4] + "AAAA"})
    client.get("/search", params={"q": "x"}, headers={"X-API-Key": "msk_secretid_secretsecretsecret"})
    by_key = client.get("/search", params={"q": "épanchement"}, headers={"X-API-Key": API_KEY[0]})
    assert by_key.status_code == 200 and _entries(settings)[-1]["user"] == "key:audit-coverage"
    text = "\n".join(json.dumps(e, ensure_ascii=False) for e in _entries(settings))
    assert len(_entries(settings)) > 30
    secrets = [LOCAL_PASSWORD, login.json()["access_token"], "secretsecretsecret", API_KEY[0],
               token("clinician", CLINICIAN)[:40]]
    assert not [s for s in secrets if s in text]
    assert not re.search(r"eyJ[\w-]{10,}\.eyJ", text), "a JWT in the audit log"
    assert not re.search(r"password|passwd|authorization|x-api-key", text, re.IGNORECASE)
    result = verify_chain(settings.api.audit_log)
    assert result.ok, result.problems
