"""`medsearch generations list` / `rollback N` on Elasticsearch (noida-db), as tests/test_generations_rollback.py
does for the embedded backend: a copy of the kept generation is published as the next one (``_clone`` +
one alias swap), passage ids never go back, the generation rolled back from stays kept, the next run
starts from the rolled-back content. Before, both commands answered exit 2 « on Elasticsearch ... move
every alias by hand ».
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.backend.elasticsearch.writer import generation_meta
from indexer.jobs import IndexLock
from indexer.pipeline import index_paths
from indexer.settings import Settings
from noida_support import noida_binary, own_noida
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest
from test_generations_rollback import BAD_REPORT, REPO, REPORTS

pytestmark = pytest.mark.skipif(noida_binary() is None, reason="noida-db (the ES test server) is not installed")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDSEARCH_")}
    env.update(PYTHONPATH=str(REPO), MEDSEARCH_INDEX__DIR=str(settings.index.dir), MEDSEARCH_BACKEND__KIND="elasticsearch",
               MEDSEARCH_BACKEND__URL=settings.backend.url, MEDSEARCH_BACKEND__INDEX_PREFIX=settings.backend.index_prefix)
    return subprocess.run([sys.executable, "-m", "indexer.cli", "generations", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_rollback_on_elasticsearch(tmp_path: Path, encoder) -> None:  # noqa: ANN001
    sources = tmp_path / "sources"
    shutil.copytree(REPORTS, sources)
    with own_noida(tmp_path / "es-data") as noida:
        settings = Settings(index={"dir": tmp_path / "index"}, api={"audit_log": tmp_path / "audit.log"},
                            backend={"kind": "elasticsearch", "url": noida.url, "index_prefix": "rb"})
        index_paths([sources], settings, encoder)
        engine = build_engine(settings, encoder)
        before = [r.id for r in engine.search(SearchRequest(q="ligament croisé", limit=20)).results]
        (sources / "RPT-T077.txt").write_text(BAD_REPORT, encoding="utf-8")
        index_paths([sources], settings, encoder)
        generations = engine.backend.generations
        assert generations.live() == 2
        engine.backend.refresh()
        assert "report:RPT-T077.txt" in [r.id for r in engine.search(SearchRequest(q="ligament croisé", limit=20)).results]
        client = engine.backend.client
        next_pid_2 = int(generation_meta(client, generations.index("passages", 2))["next_pid"])

        listed = _cli(settings, "list")
        assert listed.returncode == 0, listed.stderr
        rows = [line for line in listed.stdout.splitlines() if line.strip().startswith("│ ")]
        assert [row.split("│")[1].strip() for row in rows] == ["1", "2"] and "●" in rows[1] and "●" not in rows[0]

        rolled = _cli(settings, "rollback", "1")
        assert rolled.returncode == 0, rolled.stderr
        assert rolled.stdout.strip() == "generation 1 is live again, published as generation 3"
        assert generations.live() == 3 and generations.all() == [2, 3]  # 2 kept: roll forward if need be
        meta = generation_meta(client, generations.index("passages", 3))
        assert int(meta["next_pid"]) == next_pid_2 and int(meta["generation"]) == 3  # passage ids never go back
        engine.backend.refresh()  # the API switches at its next request
        assert engine.backend.info().generation == 3
        assert [r.id for r in engine.search(SearchRequest(q="ligament croisé", limit=20)).results] == before
        assert engine.backend.get_document("report:RPT-T077.txt") is None

        # the next run starts from the rolled-back content
        (sources / "RPT-T077.txt").unlink()
        report = index_paths([sources], settings, encoder, prune=True)
        assert generations.live() == 4 and report.documents_added == 0 and report.documents_removed == 0

        assert _cli(settings, "rollback", "4").returncode == 2  # already live
        refused = _cli(settings, "rollback", "1")
        assert refused.returncode == 2 and "generation 1 is not kept" in refused.stderr
        with IndexLock(settings.index.dir, "nightly"):
            busy = _cli(settings, "rollback", "3")
        assert busy.returncode == 75 and "is being written by" in busy.stderr
