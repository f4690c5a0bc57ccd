"""`medsearch generations list` / `rollback N`: serve a kept generation again (embedded backend).

Found walking through README « Generations » as an IT team would: a run that indexed a bad export was
published, the previous generation was still on disk (``backend.keep_generations``), but nothing said
how to serve it again; writing its number into ``CURRENT`` by hand makes the next run delete the newer
generation as a « leftover » and continue passage ids from the older manifest. The rollback publishes a
copy of the kept generation as a new one, under the index lock, and the API switches at its next request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from indexer.backend.embedded.generations import Generations
from indexer.jobs import IndexLock
from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest

REPO = Path(__file__).resolve().parent.parent
REPORTS = Path(__file__).parent / "fixtures" / "sources" / "reports"
BAD_REPORT = """Service : Orthopédie
IPP : P900077
Date : 03/09/2024
Titre : IRM du genou droit

Résultats :
Rupture complète du ligament croisé antérieur du genou droit.
"""


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env.update(PYTHONPATH=str(REPO), MEDSEARCH_INDEX__DIR=str(settings.index.dir), MEDSEARCH_BACKEND__GRACE_SECONDS="0",
               MEDSEARCH_SECURITY__SECRETS_DIR=os.environ.get("MEDSEARCH_SECURITY__SECRETS_DIR", ""))
    return subprocess.run([sys.executable, "-m", "indexer.cli", "generations", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_rollback_serves_the_kept_generation_again(tmp_path: Path, encoder) -> None:  # noqa: ANN001
    sources = tmp_path / "sources"
    shutil.copytree(REPORTS, sources)
    settings = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"})
    index_paths([sources], settings, encoder)
    engine = build_engine(settings, encoder)
    before = [r.id for r in engine.search(SearchRequest(q="ligament croisé", limit=20)).results]
    (sources / "RPT-T077.txt").write_text(BAD_REPORT, encoding="utf-8")
    index_paths([sources], settings, encoder)
    generations = Generations(settings.index.dir)
    assert generations.current() == 2
    assert engine.backend.refresh() is True
    assert "report:RPT-T077.txt" in [r.id for r in engine.search(SearchRequest(q="ligament croisé", limit=20)).results]
    next_pid_2 = generations.layout(2).read_manifest().next_pid

    listed = _cli(settings, "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.strip().startswith("│ ")]
    assert [row.split("│")[1].strip() for row in rows] == ["1", "2"] and "●" in rows[1] and "●" not in rows[0]

    rolled = _cli(settings, "rollback", "1")
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == "generation 1 is live again, published as generation 3"
    assert generations.current() == 3 and generations.numbered() == [2, 3]  # 2 kept: roll forward if need be
    assert generations.layout(3).read_manifest().next_pid == next_pid_2  # passage ids never go back
    assert engine.backend.refresh() is True  # the API switches at its next request
    assert [r.id for r in engine.search(SearchRequest(q="ligament croisé", limit=20)).results] == before
    assert engine.backend.get_document("report:RPT-T077.txt") is None

    # the next run starts from the rolled-back content: the bad report comes back only if still in the export
    (sources / "RPT-T077.txt").unlink()
    report = index_paths([sources], settings, encoder, prune=True)
    assert generations.current() == 4 and report.documents_added == 0 and report.documents_removed == 0

    assert _cli(settings, "rollback", "4").returncode == 2  # already live
    refused = _cli(settings, "rollback", "1")
    assert refused.returncode == 2 and "generation 1 is not kept" in refused.stderr
    with IndexLock(settings.index.dir, "nightly"):
        busy = _cli(settings, "rollback", "3")
    assert busy.returncode == 75 and "is being written by" in busy.stderr
