"""Screening decisions on saved cohorts (« inclus / exclu / à revoir », as in Dr Warehouse): set,
change, clear, one or several at once; errors change nothing; decisions survive re-runs; hand
exclusion is the decision ``excluded`` (one truth, old saved exclusions migrated); exports, counts,
audit, and researchers deciding through pseudonyms only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from search_api.app import create_app
from search_api.security.audit import iter_entries
from search_api.user_data import UserDataStore

DEFINITION = {"criteria": [{"label": "compte rendu", "kinds": ["report"], "date_from": "2024-05-01"}]}
DR = auth("clinician", "dr.screen")
OTHER = auth("clinician", "dr.other")
RESEARCHER = auth("researcher", "dr.research-screen")


@pytest.fixture()
def site(indexed, encoder, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:  # noqa: ANN001
    """The app over the fixture index with its own audit log and user data (per test)."""
    base = indexed[0]
    settings = base.model_copy(update={
        "api": base.api.model_copy(update={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"}),
    })
    with TestClient(create_app(settings, encoder=encoder)) as client:
        yield client, settings


def _save(client: TestClient, headers: dict[str, str] = DR, definition: dict = DEFINITION) -> dict[str, Any]:
    response = client.post("/cohorts", json={"name": "Essai EP", "definition": definition}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _run(client: TestClient, cohort_id: int, headers: dict[str, str] = DR) -> dict[str, Any]:
    response = client.post(f"/cohorts/{cohort_id}/run", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _decisions(client: TestClient, cohort_id: int, headers: dict[str, str] = DR) -> dict[str, dict[str, Any]]:
    response = client.get(f"/cohorts/{cohort_id}", headers=headers)
    assert response.status_code == 200, response.text
    return {d["patient_id"]: d for d in response.json()["decisions"]}


def _audit(settings: Any, action: str) -> list[dict[str, Any]]:  # noqa: ANN401
    return [e for e in iter_entries(settings.api.audit_log) if e.get("action") == action]


def test_set_change_clear_and_shown_by_every_run(site) -> None:  # noqa: ANN001
    client, _ = site
    cohort = _save(client)
    assert cohort["members"] == ["P900002", "P900003", "P900004"] and cohort["decisions"] == []
    cid = cohort["id"]

    answer = client.put(f"/cohorts/{cid}/decisions/P900002", json={"status": "to_review", "reason": "  ECG à relire "},
                        headers=DR)
    assert answer.status_code == 200, answer.text
    decided = answer.json()
    assert (decided["patient_id"], decided["status"], decided["label"], decided["reason"], decided["decided_by"]) == (
        "P900002", "to_review", "à revoir", "ECG à relire", "dr.screen")
    when = dt.datetime.fromisoformat(decided["decided_at"])
    assert abs(dt.datetime.now(dt.timezone.utc) - when) < dt.timedelta(minutes=2)
    assert client.put(f"/cohorts/{cid}/decisions/P900003", json={"status": "included"}, headers=DR).status_code == 200

    run = _run(client, cid)
    by_id = {p["patient_id"]: p["decision"] for p in run["patients"]}
    assert by_id["P900002"]["status"] == "to_review" and by_id["P900003"]["label"] == "inclus" and by_id["P900004"] is None
    assert run["counts"] == {"included": 1, "excluded": 0, "to_review": 1, "undecided": 1}

    # excluded: out of the members as a hand exclusion, its decision still listed
    assert client.put(f"/cohorts/{cid}/decisions/P900004", json={"status": "excluded", "reason": "IRC sévère"},
                      headers=DR).status_code == 200
    run = _run(client, cid)
    assert [p["patient_id"] for p in run["patients"]] == ["P900002", "P900003"]
    assert run["excluded"] == ["P900004"] and run["counts"]["excluded"] == 1 and run["counts"]["undecided"] == 0
    assert {d["patient_id"]: d["reason"] for d in run["decisions"]}["P900004"] == "IRC sévère"
    assert client.get(f"/cohorts/{cid}", headers=DR).json()["definition"]["excluded"] == ["P900004"]

    # a re-run keeps every decision; changing one keeps the others
    again = _run(client, cid)
    assert {p["patient_id"]: p["decision"]["status"] for p in again["patients"]} == {"P900002": "to_review",
                                                                                    "P900003": "included"}
    changed = client.put(f"/cohorts/{cid}/decisions/P900002", json={"status": "included", "reason": "ECG normal"},
                         headers=DR).json()
    assert changed["status"] == "included" and changed["reason"] == "ECG normal"

    # cleared: the excluded patient is a member again (new to the last run), without decision
    assert client.delete(f"/cohorts/{cid}/decisions/P900004", headers=DR).status_code == 204
    run = _run(client, cid)
    assert [(p["patient_id"], p["new"], p["decision"]) for p in run["patients"] if p["patient_id"] == "P900004"] == [
        ("P900004", True, None)]
    assert run["excluded"] == [] and run["counts"] == {"included": 2, "excluded": 0, "to_review": 0, "undecided": 1}
    assert set(_decisions(client, cid)) == {"P900002", "P900003"}


def test_several_at_once(site) -> None:  # noqa: ANN001
    client, _ = site
    cid = _save(client)["id"]
    body = {"decisions": [{"patient_id": "P900002", "status": "excluded", "reason": "refus"},
                          {"patient_id": "P900003", "status": "to_review"}]}
    answer = client.post(f"/cohorts/{cid}/decisions", json=body, headers=DR)
    assert answer.status_code == 200, answer.text
    assert [(d["patient_id"], d["status"]) for d in answer.json()] == [("P900002", "excluded"), ("P900003", "to_review")]
    cleared = client.post(f"/cohorts/{cid}/decisions", json={"decisions": [
        {"patient_id": "P900002", "status": None}, {"patient_id": "P900004", "status": "included"}]}, headers=DR)
    assert [(d["patient_id"], d["status"]) for d in cleared.json()] == [("P900003", "to_review"), ("P900004", "included")]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        ("put", "/decisions/P900001", {"status": "included"}, DR, 404),           # not a patient of the cohort
        ("put", "/decisions/INCONNU", {"status": "included"}, DR, 404),
        ("delete", "/decisions/P900001", None, DR, 404),
        ("put", "/decisions/P900002", {"status": "included"}, OTHER, 404),        # another user's cohort
        ("put", "/decisions/P900002", {"status": "inclus"}, DR, 422),             # the label is not the status
        ("put", "/decisions/P900002", {"status": "maybe"}, DR, 422),
        ("put", "/decisions/P900002", {"reason": "x"}, DR, 422),
        ("put", "/decisions/P900002", {"status": "excluded", "reason": "x" * 501}, DR, 422),
        ("put", "/decisions/P900002", {"status": "excluded", "reason": "a\x00b"}, DR, 422),
        ("put", "/decisions/P900002", {"status": "included", "decided_by": "dr.boss"}, DR, 422),  # server-set only
        ("put", "/decisions/P900002", {"status": "included", "decided_at": "2020-01-01T00:00:00"}, DR, 422),
        ("post", "/decisions", {"decisions": [{"patient_id": "P900002", "status": "excluded"},
                                              {"patient_id": "P900001", "status": "excluded"}]}, DR, 404),
        ("post", "/decisions", {"decisions": [{"patient_id": "P900002", "status": "excluded"},
                                              {"patient_id": "P900002", "status": "included"}]}, DR, 422),
        ("post", "/decisions", {"decisions": [{"patient_id": "P900002", "status": "excluded"},
                                              {"patient_id": "P900003", "status": "bad"}]}, DR, 422),
        ("post", "/decisions", {"decisions": []}, DR, 422),
    ],
)
def test_errors_answer_4xx_and_change_nothing(site, method: str, path: str, body: Any, headers: dict, status: int) -> None:  # noqa: ANN001, ANN401
    client, settings = site
    cid = _save(client)["id"]
    assert client.put(f"/cohorts/{cid}/decisions/P900003", json={"status": "to_review", "reason": "avant"},
                      headers=DR).status_code == 200
    before = _decisions(client, cid)
    audited = len(_audit(settings, "cohort_decision"))
    kwargs = {"json": body} if body is not None else {}
    response = client.request(method.upper(), f"/cohorts/{cid}{path}", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert _decisions(client, cid) == before
    assert len(_audit(settings, "cohort_decision")) == audited
    run = _run(client, cid)
    assert [p["patient_id"] for p in run["patients"]] == ["P900002", "P900003", "P900004"]


def test_unknown_cohort_is_404(site) -> None:  # noqa: ANN001
    client, _ = site
    assert client.put("/cohorts/999999/decisions/P900002", json={"status": "included"}, headers=DR).status_code == 404


def test_hand_exclusion_is_the_excluded_decision(site) -> None:  # noqa: ANN001
    """The definition's ``excluded`` (older clients, the « exclure » of the portal) reads and writes
    the decisions: no second truth."""
    client, _ = site
    cid = _save(client, definition={**DEFINITION, "excluded": ["P900004"]})["id"]
    [decision] = _decisions(client, cid).values()
    assert (decision["patient_id"], decision["status"], decision["decided_by"]) == ("P900004", "excluded", "dr.screen")
    # a reason added later survives a PUT of the same definition (same exclusion)
    client.put(f"/cohorts/{cid}/decisions/P900004", json={"status": "excluded", "reason": "grossesse"}, headers=DR)
    stored = client.get(f"/cohorts/{cid}", headers=DR).json()
    assert client.put(f"/cohorts/{cid}", json={"name": "Essai EP", "definition": stored["definition"]},
                      headers=DR).status_code == 200
    assert _decisions(client, cid)["P900004"]["reason"] == "grossesse"
    # a to_review patient put in the excluded list becomes excluded; taken out of it, its decision goes
    client.put(f"/cohorts/{cid}/decisions/P900002", json={"status": "to_review"}, headers=DR)
    edited = {**DEFINITION, "excluded": ["P900002"]}
    assert client.put(f"/cohorts/{cid}", json={"name": "Essai EP", "definition": edited}, headers=DR).status_code == 200
    assert {p: d["status"] for p, d in _decisions(client, cid).items()} == {"P900002": "excluded"}
    run = _run(client, cid)
    assert run["excluded"] == ["P900002"] and [p["patient_id"] for p in run["patients"]] == ["P900003", "P900004"]
    assert client.put(f"/cohorts/{cid}", json={"name": "Essai EP", "definition": DEFINITION}, headers=DR).status_code == 200
    assert _decisions(client, cid) == {}


def test_exports_carry_status_reason_decider_and_date(site) -> None:  # noqa: ANN001
    client, _ = site
    cid = _save(client)["id"]
    client.put(f"/cohorts/{cid}/decisions/P900002", json={"status": "to_review", "reason": "=HYPERLINK(\"x\")"}, headers=DR)
    client.put(f"/cohorts/{cid}/decisions/P900004", json={"status": "excluded", "reason": "refus du patient"}, headers=DR)

    exported = client.get(f"/cohorts/{cid}/export", params={"format": "csv"}, headers=DR)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][-4:] == ["décision", "motif", "décidé par", "décidé le (UTC)"]
    assert rows[0][5] == "compte rendu : document"  # the columns older readers know keep their place
    by_id = {r[0]: r for r in rows[1:]}
    assert list(by_id) == ["P900002", "P900003"]  # the excluded stay out by default
    assert by_id["P900002"][-4:-1] == ["à revoir", "'=HYPERLINK(\"x\")", "dr.screen"]  # never a formula
    assert dt.datetime.strptime(by_id["P900002"][-1], "%d/%m/%Y %H:%M")
    assert by_id["P900003"][-4:] == ["", "", "", ""]

    log = client.get(f"/cohorts/{cid}/export", params={"format": "csv", "with_excluded": "true"}, headers=DR)
    rows = list(csv.reader(io.StringIO(log.content.decode("utf-8-sig")), delimiter=";"))
    assert [(r[0], r[3], r[-4], r[-3]) for r in rows[1:]][-1] == ("P900004", "exclue", "exclu", "refus du patient")

    from openpyxl import load_workbook

    xlsx = client.get(f"/cohorts/{cid}/export", params={"format": "xlsx", "with_excluded": "true"}, headers=DR)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][-4:] == ["décision", "motif", "décidé par", "décidé le (UTC)"]
    by_id = {v[0]: v for v in values[1:]}
    assert by_id["P900002"][-4:-1] == ["à revoir", "=HYPERLINK(\"x\")", "dr.screen"]
    assert sheet.cell(row=2, column=len(values[0]) - 2).data_type == "s"  # the reason stays text
    assert isinstance(by_id["P900004"][-1], dt.datetime) and by_id["P900004"][-4:-1] == ["exclu", "refus du patient",
                                                                                         "dr.screen"]


def test_every_decision_is_audited_with_real_ids(site) -> None:  # noqa: ANN001
    client, settings = site
    cid = _save(client)["id"]
    client.put(f"/cohorts/{cid}/decisions/P900002", json={"status": "excluded", "reason": "refus"}, headers=DR)
    client.post(f"/cohorts/{cid}/decisions", json={"decisions": [{"patient_id": "P900003", "status": "to_review"},
                                                                 {"patient_id": "P900002", "status": None}]}, headers=DR)
    client.delete(f"/cohorts/{cid}/decisions/P900003", headers=DR)
    entries = _audit(settings, "cohort_decision")
    assert [e["decisions"] for e in entries] == [
        [{"patient": "P900002", "status": "excluded", "reason": "refus"}],
        [{"patient": "P900003", "status": "to_review", "reason": None}, {"patient": "P900002", "status": None, "reason": None}],
        [{"patient": "P900003", "status": None, "reason": None}],
    ]
    assert all(e["user"] == "dr.screen" and e["cohort_id"] == cid and e.get("client") for e in entries)


def test_researchers_decide_through_pseudonyms_only(site) -> None:  # noqa: ANN001
    client, settings = site
    cohort = _save(client, RESEARCHER, {"criteria": [{"kinds": ["report"]}]})  # no dates: a researcher's are shifted
    shown = cohort["members"]
    assert len(shown) == 4 and all(p.startswith("PSN-") for p in shown)
    cid = cohort["id"]
    # a real IPP is unknown to a researcher (the API never confirms it exists)
    assert client.put(f"/cohorts/{cid}/decisions/P900002", json={"status": "included"}, headers=RESEARCHER).status_code == 404
    answer = client.put(f"/cohorts/{cid}/decisions/{shown[0]}", json={"status": "excluded", "reason": "âge"},
                        headers=RESEARCHER)
    assert answer.status_code == 200 and answer.json()["patient_id"] == shown[0]
    client.put(f"/cohorts/{cid}/decisions/{shown[1]}", json={"status": "to_review"}, headers=RESEARCHER)
    run = client.post(f"/cohorts/{cid}/run", headers=RESEARCHER)
    assert "P900" not in run.text
    body = run.json()
    assert body["excluded"] == [shown[0]] and [d["patient_id"] for d in body["decisions"]] == sorted(shown[:2])
    assert {p["patient_id"]: (p["decision"] or {}).get("status") for p in body["patients"]} == {
        shown[1]: "to_review", shown[2]: None, shown[3]: None}
    exported = client.get(f"/cohorts/{cid}/export", params={"format": "csv", "with_excluded": "true"}, headers=RESEARCHER)
    assert exported.status_code == 200 and b"P900" not in exported.content
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert (rows[-1][0], rows[-1][-4], rows[-1][-3]) == (shown[0], "exclu", "âge")

    from openpyxl import load_workbook

    xlsx = client.get(f"/cohorts/{cid}/export", params={"format": "xlsx", "with_excluded": "true"}, headers=RESEARCHER)
    cells = [c.value for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows() for c in row]
    assert shown[0] in cells and not any(isinstance(v, str) and "P900" in v for v in cells)
    assert "P900" not in client.get(f"/cohorts/{cid}", headers=RESEARCHER).text
    assert "P900" not in client.get("/cohorts", headers=RESEARCHER).text
    [entry] = _audit(settings, "cohort_decision")[:1]
    real = entry["decisions"][0]["patient"]
    assert real.startswith("P900") and entry["user"] == "dr.research-screen"  # the audit names the real patient
    stored = UserDataStore(settings.api.user_data).cohort("dr.research-screen", cid)
    assert set(stored["decisions"]) == set(shown[:2])  # stored as the owner is shown them


def _old_store(path: Path, owner: str, definition: dict[str, Any], members: list[str]) -> None:
    """A cohorts table as saved before screening decisions (no ``decisions`` column)."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE cohorts (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, name TEXT NOT NULL,"
        " definition TEXT NOT NULL, members TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " last_run_at TEXT, watch INTEGER NOT NULL DEFAULT 0, last_refreshed TEXT, refreshed_members TEXT,"
        " unseen TEXT NOT NULL DEFAULT '[]', refresh_error TEXT);"
    )
    db.execute("INSERT INTO cohorts (owner, name, definition, members, created_at, updated_at, last_run_at)"
               " VALUES (?, 'ancienne', ?, ?, '2025-01-02T03:04:05+00:00', '2025-02-03T04:05:06+00:00', NULL)",
               (owner, json.dumps(definition), json.dumps(members)))
    db.commit()
    db.close()


def test_old_saved_exclusions_become_decisions_losing_nothing(tmp_path: Path) -> None:
    path = tmp_path / "user_data.sqlite"
    old = {**DEFINITION, "name": "ancienne", "included": ["P900001"], "excluded": ["P900004", "P900002"]}
    _old_store(path, "dr.screen", old, ["P900001", "P900003"])
    store = UserDataStore(path)
    [cohort] = store.cohorts("dr.screen")
    assert cohort["definition"] == {**old, "excluded": ["P900002", "P900004"]}  # same exclusions, nothing else changed
    assert cohort["members"] == ["P900001", "P900003"]
    assert cohort["decisions"] == {p: {"status": "excluded", "reason": None, "decided_by": "dr.screen",
                                       "decided_at": "2025-02-03T04:05:06+00:00", "migrated": True}
                                   for p in ("P900004", "P900002")}
    store.close()
    raw = sqlite3.connect(path).execute("SELECT definition FROM cohorts").fetchone()[0]
    assert json.loads(raw)["excluded"] == []  # one truth: the decisions
    store = UserDataStore(path)  # opened again: nothing to migrate, nothing lost
    assert store.cohorts("dr.screen")[0]["decisions"] == cohort["decisions"]
    store.close()


def test_an_old_saved_cohort_runs_with_its_exclusions_as_decisions(indexed, encoder, tmp_path: Path) -> None:  # noqa: ANN001
    base = indexed[0]
    settings = base.model_copy(update={
        "api": base.api.model_copy(update={"audit_log": tmp_path / "audit.log", "user_data": tmp_path / "user_data.sqlite"}),
    })
    _old_store(settings.api.user_data, "dr.screen", {**DEFINITION, "name": "ancienne", "excluded": ["P900004"]},
               ["P900002", "P900003"])
    with TestClient(create_app(settings, encoder=encoder)) as client:
        [cohort] = client.get("/cohorts", headers=DR).json()
        run = _run(client, cohort["id"])
        assert [p["patient_id"] for p in run["patients"]] == ["P900002", "P900003"] and run["excluded"] == ["P900004"]
        assert [(d["patient_id"], d["label"]) for d in run["decisions"]] == [("P900004", "exclu")]
        assert client.delete(f"/cohorts/{cohort['id']}/decisions/P900004", headers=DR).status_code == 204
        assert [p["patient_id"] for p in _run(client, cohort["id"])["patients"]] == ["P900002", "P900003", "P900004"]


def test_exclusions_through_the_definition_are_audited_as_decisions(site) -> None:  # noqa: ANN001
    client, settings = site
    cid = _save(client, definition={**DEFINITION, "excluded": ["P900004"]})["id"]
    client.put(f"/cohorts/{cid}", json={"name": "Essai EP", "definition": {**DEFINITION, "excluded": ["P900002"]}}, headers=DR)
    entries = _audit(settings, "cohort_decision")
    assert [(e["via"], e["decisions"]) for e in entries] == [
        ("definition", [{"patient": "P900004", "status": "excluded", "reason": None}]),
        ("definition", [{"patient": "P900002", "status": "excluded", "reason": None},
                        {"patient": "P900004", "status": None, "reason": None}]),
    ]


def test_store_keeps_decisions_through_runs_and_renames(tmp_path: Path) -> None:
    store = UserDataStore(tmp_path / "user_data.sqlite")
    cohort = store.add_cohort("dr.screen", "c", {**DEFINITION, "excluded": []}, ["P1", "P2"])
    assert store.decide("dr.other", cohort["id"], {"P1": ("included", None)}, "dr.other") is None  # not theirs
    decided = store.decide("dr.screen", cohort["id"], {"P1": ("to_review", "doute"), "P2": ("excluded", None)}, "dr.screen")
    assert decided["definition"]["excluded"] == ["P2"]
    first = decided["decisions"]["P1"]["decided_at"]
    again = store.decide("dr.screen", cohort["id"], {"P1": ("to_review", "doute")}, "dr.boss")  # same: no new decision
    assert again["decisions"]["P1"] == {"status": "to_review", "reason": "doute", "decided_by": "dr.screen",
                                        "decided_at": first}
    kept = store.update_cohort("dr.screen", cohort["id"], members=["P1", "P3"], name="renommée")
    assert kept["decisions"] == again["decisions"] and kept["definition"]["excluded"] == ["P2"]
    store.close()


def test_opening_or_listing_audits_the_patients_only_decisions_name(site) -> None:  # noqa: ANN001
    client, settings = site
    cid = _save(client)["id"]
    client.put(f"/cohorts/{cid}/decisions/P900004", json={"status": "excluded"}, headers=DR)
    _run(client, cid)  # P900004 leaves the members; the decisions still name it
    assert client.get(f"/cohorts/{cid}", headers=DR).json()["members"] == ["P900002", "P900003"]
    assert _audit(settings, "cohort_open")[-1]["returned"] == ["P900002", "P900003", "P900004"]
    client.get("/cohorts", headers=DR)
    assert _audit(settings, "cohort_list")[-1]["returned"] == ["P900002", "P900003", "P900004"]
