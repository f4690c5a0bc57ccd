"""Retention of the audit log: ``medsearch audit prune`` deletes whole old files and the chain still
verifies; files deleted by hand, or an anchor no prune entry vouches for, are still caught."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from typer.testing import CliRunner

from indexer.cli import app as cli
from search_api.security.audit import AuditLog, anchor_path, chain_files, verify_chain
from search_api.security.audit_retention import _write_anchor, prunable, prune

TOMORROW = datetime.now(timezone.utc).date() + timedelta(days=1)


def _log(tmp_path: Path, lines: int = 30) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log", rotate_bytes=600)
    for i in range(lines):
        log.record("dr.martin", "search", role="clinician", query=f"q{i}")
    assert len(chain_files(log.path)) > 3
    return log


def test_prune_deletes_old_rotated_files_and_the_chain_still_verifies(tmp_path: Path) -> None:
    log = _log(tmp_path)
    current = [json.loads(line)["seq"] for line in log.path.read_text(encoding="utf-8").splitlines()]
    assert prune(log, date(2000, 1, 1), "cli:dpo", "server-shell").files == []  # nothing that old
    result = prune(log, TOMORROW, "cli:dpo", "server-shell")
    assert result.files and result.entries > 0
    names = {f.name for f in chain_files(log.path)}
    assert log.path.name in names and not names & set(result.files)  # the current file is never deleted
    after = log.entries()
    assert after[0]["seq"] == result.through_seq + 1 and set(current) <= {e["seq"] for e in after}
    recorded = after[-1]
    assert (recorded["action"], recorded["user"], recorded["through_seq"], recorded["entries"]) == \
        ("audit_prune", "cli:dpo", result.through_seq, result.entries)
    assert json.loads(anchor_path(log.path).read_text()) == {"seq": result.through_seq, "hash": result.through_hash}
    checked = verify_chain(log.path)
    assert checked.ok, checked.problems
    log.record("dr.martin", "search", role="clinician", query="after")  # the chain goes on
    assert verify_chain(log.path).ok


def test_files_deleted_by_hand_or_a_forged_anchor_are_still_caught(tmp_path: Path) -> None:
    log = _log(tmp_path)
    chain_files(log.path)[0].unlink()  # the oldest file, deleted without `audit prune`
    assert not verify_chain(log.path).ok
    first = log.entries()[0]  # a forged anchor naming the new start: no prune entry vouches for it
    _write_anchor(log.path, first["seq"] - 1, first["prev"])
    problems = verify_chain(log.path).problems
    assert problems == [f"audit.log.anchor is not recorded by an audit_prune entry of the chain (lines deleted outside "
                        "`medsearch audit prune`)"]


def test_an_interrupted_prune_verifies_and_finishes_on_the_next_run(tmp_path: Path) -> None:
    log = _log(tmp_path)
    files, planned = prunable(log.path, TOMORROW)
    log.record("cli:dpo", "audit_prune", role="server-shell", before=TOMORROW.isoformat(), files=planned.files,
               entries=planned.entries, through_seq=planned.through_seq, through_hash=planned.through_hash)
    _write_anchor(log.path, planned.through_seq, planned.through_hash)  # ... and the process died here
    assert verify_chain(log.path).ok
    finished = prune(log, TOMORROW, "cli:dpo", "server-shell")
    assert finished.files[: len(planned.files)] == planned.files  # the leftovers first (then any file rotated since)
    assert not {f.name for f in chain_files(log.path)} & set(planned.files) and verify_chain(log.path).ok


def test_cli_prune_dry_run_then_prune(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.record("dr.martin", "search", role="clinician", query="x" * 700)  # the current file rotates at the prune's entry
    rotated = len(chain_files(log.path)) - 1
    runner = CliRunner()
    dry = runner.invoke(cli, ["audit", "prune", "--before", TOMORROW.isoformat(), "--dry-run", "--log", str(log.path)])
    assert dry.exit_code == 0 and f"would delete {rotated} file(s)" in dry.stdout
    assert len(chain_files(log.path)) == rotated + 1
    done = runner.invoke(cli, ["audit", "prune", "--before", TOMORROW.isoformat(), "--log", str(log.path)])
    assert done.exit_code == 0 and f"deleted {rotated} file(s)" in done.stdout
    assert runner.invoke(cli, ["audit", "verify", str(log.path)]).exit_code == 0
    assert runner.invoke(cli, ["audit", "prune", "--log", str(log.path)]).exit_code == 2  # no cut-off given
