"""Retention of the portal's per-user data: ``medsearch user-data owners`` / ``purge`` delete a departed
or inactive user's saved searches, cohorts and rights snapshot, each purge audited before it happens."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from indexer.cli import app as cli
from indexer.settings import get_settings
from search_api.security.audit import AuditLog, verify_chain
from search_api.user_data import UserDataStore


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("MEDSEARCH_API__USER_DATA", str(tmp_path / "user_data.sqlite"))
    monkeypatch.setenv("MEDSEARCH_API__AUDIT_LOG", str(tmp_path / "audit.log"))
    get_settings.cache_clear()
    store = UserDataStore(tmp_path / "user_data.sqlite")
    store.add_search("dr.left", "old search", {"q": "cancer du sein"})
    store.add_cohort("dr.left", "old cohort", {"criteria": []}, ["P900001", "P900002"])
    store.record_rights("dr.left", "https://kc.example", {"sub": "x"}, "2025-01-01T00:00:00+00:00")
    store.add_search("dr.active", "recent", {"q": "embolie"})
    with store._lock:  # dr.left's data dates from last year
        store._db.execute("UPDATE saved_searches SET created_at = '2025-01-01T00:00:00+00:00' WHERE owner = 'dr.left'")
        store._db.execute("UPDATE cohorts SET created_at = '2025-01-01T00:00:00+00:00', updated_at = '2025-01-01T00:00:00+00:00',"
                          " last_run_at = '2025-01-02T00:00:00+00:00' WHERE owner = 'dr.left'")
        store._db.commit()
    yield store, tmp_path / "audit.log"
    get_settings.cache_clear()


def test_owners_lists_who_holds_what_and_since_when(site) -> None:  # noqa: ANN001
    store, _ = site
    rows = {r["owner"]: r for r in store.owners()}
    assert (rows["dr.left"]["searches"], rows["dr.left"]["cohorts"]) == (1, 1)
    assert rows["dr.left"]["last_activity"] == "2025-01-02T00:00:00+00:00"
    done = CliRunner().invoke(cli, ["user-data", "owners"])
    assert done.exit_code == 0 and "dr.left\tsearches=1\tcohorts=1\tlast=2025-01-02" in done.stdout


def test_purge_inactive_users_only_audited_first(site) -> None:  # noqa: ANN001
    store, log = site
    runner = CliRunner()
    dry = runner.invoke(cli, ["user-data", "purge", "--inactive-days", "180", "--dry-run"])
    assert dry.exit_code == 0 and dry.stdout.strip() == "would purge dr.left"
    assert store.cohorts("dr.left")  # nothing deleted by a dry run
    done = runner.invoke(cli, ["user-data", "purge", "--inactive-days", "180"])
    assert done.exit_code == 0, done.output
    assert "purged dr.left: 1 saved searches, 1 cohorts, rights snapshot" in done.stdout
    assert not store.cohorts("dr.left") and not store.searches("dr.left") and store.rights_snapshot("dr.left") is None
    assert store.searches("dr.active")  # active users keep theirs
    entry = AuditLog(log).entries()[-1]
    assert (entry["action"], entry["owner"], entry["cohorts"], entry["reason"]) == ("user_data_purge", "dr.left", 1, "inactive 180 days")
    assert verify_chain(log).ok


def test_purge_a_departed_user_by_name(site) -> None:  # noqa: ANN001
    store, log = site
    done = CliRunner().invoke(cli, ["user-data", "purge", "--owner", "dr.active"])
    assert done.exit_code == 0 and not store.searches("dr.active") and store.cohorts("dr.left")
    assert AuditLog(log).entries()[-1]["reason"] == "owner named"
    assert CliRunner().invoke(cli, ["user-data", "purge"]).exit_code == 2  # neither a user nor a period
