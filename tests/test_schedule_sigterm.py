"""``medsearch schedule`` on SIGTERM (``docker stop``, systemd, Kubernetes): one log line saying so, a run in
progress finishes within ``jobs.stop_grace_s`` or is recorded ``interrupted`` (``medsearch jobs``), exit 0.

Found in the IT walkthrough: the scheduler died silently (no line in the log), exit status -15, and a run
it was doing stayed « running » in the job history until the next command noticed it as « crashed ».

The real command runs in a subprocess; a ``sitecustomize`` on its PYTHONPATH makes its one source fire
at once (instead of at the next crontab minute) and its run a sleep of MEDSEARCH_TEST_RUN_S seconds
(instead of loading an encoder and indexing).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SITECUSTOMIZE = '''
import os, time
from datetime import datetime, timedelta
from types import SimpleNamespace
from apscheduler.triggers.date import DateTrigger
import indexer.jobs.runner as runner
import indexer.jobs.scheduler as scheduler
import indexer.pipeline as pipeline

scheduler.cron_trigger = lambda expression: DateTrigger(datetime.now() + timedelta(seconds=0.5))
runner._encoder = lambda settings: None

def index_paths(*args, **kwargs):
    open(os.environ["MEDSEARCH_TEST_STARTED"], "w").close()
    time.sleep(float(os.environ["MEDSEARCH_TEST_RUN_S"]))
    return SimpleNamespace(skipped=[], warnings=[], duplicates=[], files_seen=1, documents_added=1, documents_updated=0,
                           documents_removed=0, documents_unchanged=0, passages_added=1, seconds={"total": 1.0})

pipeline.index_paths = index_paths
'''


def _env(tmp_path: Path, run_s: float, grace_s: float) -> dict[str, str]:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    (tmp_path / "src").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env.update(PYTHONPATH=f"{shim}{os.pathsep}{REPO}", MEDSEARCH_INDEX__DIR=str(tmp_path / "index"),
               MEDSEARCH_API__AUDIT_LOG=str(tmp_path / "audit.log"), MEDSEARCH_SECURITY__SECRETS_DIR=str(tmp_path / "secrets"),
               MEDSEARCH_JOBS__STOP_GRACE_S=str(grace_s), MEDSEARCH_TEST_RUN_S=str(run_s),
               MEDSEARCH_TEST_STARTED=str(tmp_path / "started"),
               MEDSEARCH_SOURCES=json.dumps([{"name": "exports", "paths": [str(tmp_path / "src")], "schedule": "0 2 * * *"}]))
    return env


def _schedule_then_sigterm(tmp_path: Path, run_s: float, grace_s: float) -> tuple[int, float, str, list[dict]]:
    env = _env(tmp_path, run_s, grace_s)
    process = subprocess.Popen([sys.executable, "-m", "indexer.cli", "schedule", "--json-logs"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while not (tmp_path / "started").exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    done = subprocess.run([sys.executable, "-m", "indexer.cli", "jobs", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return process.returncode, took, stderr, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_run_past_the_grace_period_is_recorded_interrupted(tmp_path: Path) -> None:
    code, took, stderr, jobs = _schedule_then_sigterm(tmp_path, run_s=600, grace_s=1)
    assert code == 0, stderr
    assert took < 15
    events = _events(stderr)
    stopping = next(e for e in events if e["event"] == "scheduler_stopping")
    assert stopping["signal"] == "SIGTERM" and stopping["running"] == [jobs[0]["id"]]
    assert [e["event"] for e in events][-2:] == ["job_interrupted", "scheduler_stopped"]
    assert len(jobs) == 1 and jobs[0]["status"] == "interrupted" and jobs[0]["ended_at"]
    assert "stopped by SIGTERM" in jobs[0]["message"]


def test_a_run_within_the_grace_period_finishes(tmp_path: Path) -> None:
    code, took, stderr, jobs = _schedule_then_sigterm(tmp_path, run_s=2, grace_s=20)
    assert code == 0, stderr
    names = [e["event"] for e in _events(stderr)]
    assert names.index("scheduler_stopping") < names.index("job_finished") < names.index("scheduler_stopped")
    assert "job_interrupted" not in names
    assert len(jobs) == 1 and jobs[0]["status"] == "succeeded"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_scheduler_logs_its_stop_and_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    env = _env(tmp_path, 0, 5)
    env["PYTHONPATH"] = str(REPO)  # no shim: the source waits for 02:00
    process = subprocess.Popen([sys.executable, "-m", "indexer.cli", "schedule"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if "to stop" in line:
                break
        time.sleep(0.5)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "scheduler_stopping" in stderr and f"signal={sig.name}" in stderr and "scheduler_stopped" in stderr
