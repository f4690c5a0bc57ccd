"""Elasticsearch: a killed run resumes, and ``medsearch check`` compares the indices (issue #11 items 1-2).

The first half needs no server: the comparisons behind ``medsearch check`` on Elasticsearch and the
resume bookkeeping are pure functions of what was read. The second half (``elasticsearch`` marker,
skipped without ``MEDSEARCH_ES_URL``; ``make test`` starts the noida-db test server) runs real
``medsearch index`` subprocesses against the server, SIGKILLs them, and checks that the aliased live
generation is untouched, that ``check`` is clean, and that the next run resumes and ends exactly where
an uninterrupted run ends (documents, passages, rankings).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from es_support import ES_URL, SKIP_REASON, unique_prefix
from indexer.check import CheckReport

REPO = Path(__file__).resolve().parent.parent

# -- without a server -----------------------------------------------------------------------------
es_check = pytest.importorskip("indexer.backend.elasticsearch.check")
es_resume = pytest.importorskip("indexer.backend.elasticsearch.resume")


def _consistent() -> tuple[dict, dict, dict, dict]:
    documents = {
        "R1": {"kind": "report", "pids": [0, 1], "source_path": ""},
        "R2": {"kind": "report", "pids": [2], "source_path": ""},
        "I1": {"kind": "image", "pids": [3], "source_path": ""},
    }
    passages = {pid: {"doc_id": doc, "has_vector": True} for doc, e in documents.items() for pid in e["pids"]}
    images = {"descriptor": {"I1"}}
    meta = {"encoder": "usem3", "dim": 512, "next_pid": 4}
    return documents, passages, images, meta


def _report(documents, passages, images, meta) -> CheckReport:  # noqa: ANN001
    report = CheckReport(folder="test")
    es_check.compare_generation(report, documents, passages, images, meta)
    return report


def test_consistent_generation_passes() -> None:
    report = _report(*_consistent())
    assert report.ok, report.problems
    assert (report.documents, report.passages, report.dense_vectors, report.image_vectors) == (3, 4, 4, {"descriptor": 1})


def test_each_kind_of_damage_is_named() -> None:
    documents, passages, images, meta = _consistent()
    del passages[1]  # R1 lists a passage that is gone
    passages[9] = {"doc_id": "GONE", "has_vector": True}  # a passage of no document
    passages[2]["doc_id"] = "R1"  # R2's passage names R1
    passages[3]["has_vector"] = False
    images["descriptor"].add("R2")  # a vector of a non-image document
    meta["next_pid"] = 5  # ≤ the largest id (9)
    problems = "\n".join(_report(documents, passages, images, meta).problems)
    assert "passages: 1 passages of the metadata store missing: 1" in problems
    assert "passages: 1 orphan passages (not in the metadata store): 9" in problems
    assert "1 passages name another document than the one listing them: 2" in problems
    assert "1 passages without a vector" in problems
    assert "images (descriptor): 1 vectors of no image document: R2" in problems
    assert "next_pid 5 is not above the largest passage id 9" in problems


def test_aliases_on_mixed_generations_are_a_problem() -> None:
    number = lambda name: int(name.rsplit("-", 1)[1])  # noqa: E731
    report = CheckReport(folder="test")
    live = es_check.compare_aliases(report, {"passages": ["m-passages-000003"], "documents": ["m-documents-000002"]}, number)
    assert live == 3
    assert any("different generations (documents=2, passages=3)" in p for p in report.problems)
    report = CheckReport(folder="test")
    assert es_check.compare_aliases(report, {}, number) is None
    assert any("no passages alias" in p for p in report.problems)


def test_repair_finds_half_written_documents() -> None:
    listed = {"A": [0, 1], "B": [2, 3], "C": [4]}
    named = {0: "A", 1: "A", 2: "B", 4: "C", 5: "C", 7: "Z"}  # B lost 3; C gained 5; 7 names no document
    dirty, stray = es_resume.disagreements(listed, named)
    assert dirty == {"B", "C"}
    assert stray == {7}


def test_only_a_matching_dead_run_is_adopted() -> None:
    wanted = es_resume.marker(4, False, "usem3", 512, 1)
    dead = {"resume": wanted, "owner": {"host": "elsewhere", "pid": 1}}
    alive_here = {"resume": wanted, "owner": es_resume.owner() | {"pid": os.getppid()}}  # our parent runs
    other_start = {"resume": es_resume.marker(3, False, "usem3", 512, 1), "owner": {"host": "elsewhere", "pid": 1}}
    assert es_resume.find_resumable([(5, dead), (6, other_start)], wanted) == 5
    assert es_resume.find_resumable([(5, alive_here)], wanted) is None
    assert es_resume.find_resumable([(5, {"resume": "published"})], wanted) is None


# -- against the Elasticsearch test server ---------------------------------------------------------
needs_es = [pytest.mark.elasticsearch, pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)]
QUERIES = ["épanchement pleural", "pneumothorax", "fracture du col fémoral", "pleural effusion"]


def _extra_reports(folder: Path, count: int = 8) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    findings = ["épanchement pleural gauche", "pneumothorax droit", "fracture du col fémoral", "nodule pulmonaire"]
    for i in range(count):
        text = " ".join(f"Phrase {j} du compte rendu {i} : {findings[(i + j) % len(findings)]}." for j in range(6))
        (folder / f"CR-{i:03d}.txt").write_text(
            f"IPP : P96{i:04d}\nDate : {1 + i % 27:02d}/0{1 + i % 9}/2023\nTitre : Compte rendu {i}\n\n"
            f"Résultats :\n{text}\n\nConclusion :\n{findings[i % len(findings)].capitalize()}.\n",
            encoding="utf-8",
        )


def _settings(tmp_path: Path, prefix: str):  # noqa: ANN202
    from indexer.settings import Settings

    return Settings(
        index={"dir": tmp_path / "index", "batch_files": 3}, encoder={"name": "usem3"},
        backend={"kind": "elasticsearch", "url": ES_URL, "index_prefix": prefix},
        api={"audit_log": tmp_path / "audit.log"},
    )


def _env(tmp_path: Path, prefix: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "MEDSEARCH_ENCODER__NAME": "usem3",
            "MEDSEARCH_INDEX__BATCH_FILES": "3", "MEDSEARCH_INDEX__DIR": str(tmp_path / "index"),
            "MEDSEARCH_API__AUDIT_LOG": str(tmp_path / "audit.log"), "MEDSEARCH_BACKEND__KIND": "elasticsearch",
            "MEDSEARCH_BACKEND__URL": ES_URL, "MEDSEARCH_BACKEND__INDEX_PREFIX": prefix, **extra}


def _index_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "indexer.cli", "index", str(folder)]


def snapshot(settings, encoder) -> dict:  # noqa: ANN001
    """Everything a search can see, without passage ids (allocated per run)."""
    from indexer.backend import DocumentFilter
    from search_api.engine_factory import build_engine
    from search_api.models import SearchRequest

    engine = build_engine(settings, encoder)
    backend = engine.backend
    ids = backend.document_ids_where(DocumentFilter())
    documents = sorted((d.id, d.content_hash()) for d in backend.get_documents(ids).values())
    stats = backend.stats()
    passages = sorted(
        (p.doc_id, p.ordinal, p.section, p.text) for p in backend.get_passages(range(2000)).values()  # the fixture's ids stay far below
    )
    rankings = {(q, mode): [r.id for r in engine.search(SearchRequest(q=q, mode=mode, limit=5)).results]
                for q in QUERIES for mode in ("lexical", "dense", "hybrid")}
    info = stats.info
    backend.close()
    return {"documents": documents, "passages": passages, "rankings": rankings, "generation": info.generation,
            "by_kind": stats.by_kind}


def _drop(settings) -> None:  # noqa: ANN001
    from indexer.backend import open_backend

    backend = open_backend(settings)
    backend.drop_everything()
    backend.close()


@pytest.fixture(scope="module")
def es_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(first run's folder, second run's folder = the first plus 8 reports: 5 batches of 3 files)."""
    import shutil

    from conftest import FIXTURES

    root = tmp_path_factory.mktemp("es-resume")
    first = root / "first"
    shutil.copytree(FIXTURES, first)
    second = root / "second"
    shutil.copytree(first, second)
    _extra_reports(second / "more")
    return first, second


@pytest.fixture(scope="module")
def es_clean(es_corpus, tmp_path_factory: pytest.TempPathFactory, encoder):  # noqa: ANN001, ANN201
    """Snapshots of an uninterrupted first run, and of the uninterrupted second run after it."""
    from indexer.pipeline import index_paths

    first, second = es_corpus
    tmp = tmp_path_factory.mktemp("es-clean")
    settings = _settings(tmp, unique_prefix())
    index_paths([first], settings, encoder)
    after_first = snapshot(settings, encoder)
    report = index_paths([second], settings, encoder)
    after_second = snapshot(settings, encoder)
    _drop(settings)
    counts = (report.documents_added, report.documents_updated, report.documents_unchanged)
    return after_first, after_second, counts


def _without_generation(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "generation"}


@pytest.mark.parametrize("how", ["crash_point", "external"])
@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)
def test_kill9_keeps_live_alias_then_resume_equals_clean_run(how: str, es_corpus, es_clean, tmp_path: Path, encoder) -> None:  # noqa: ANN001
    from indexer.backend.elasticsearch.client import make_client
    from indexer.backend.elasticsearch.generations import Generations
    from indexer.check import check_configured
    from indexer.pipeline import index_paths

    first, second = es_corpus
    after_first, after_second, clean_counts = es_clean
    prefix = unique_prefix()
    settings = _settings(tmp_path, prefix)
    try:
        done = subprocess.run(_index_command(first), env=_env(tmp_path, prefix), capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        live_before = snapshot(settings, encoder)
        assert _without_generation(live_before) == _without_generation(after_first)

        client = make_client(settings.backend)
        generations = Generations(client, prefix)
        if how == "crash_point":  # SIGKILL right after the 2nd batch's checkpoint
            killed = subprocess.run(_index_command(second), env=_env(tmp_path, prefix, MEDSEARCH_CRASH_AT="pipeline.batch_committed@2"),
                                    capture_output=True, text=True, timeout=900)
            assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        else:  # kill -9 from outside, once the new generation holds a committed batch; the run pauses after
            # its 2nd batch so that a loaded machine's slow polls cannot miss every batch (it still may be
            # killed earlier, while it runs, as soon as a poll sees the 1st one)
            process = subprocess.Popen(_index_command(second), env=_env(tmp_path, prefix, MEDSEARCH_PAUSE_AT="pipeline.batch_committed@2"),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline and process.poll() is None:
                newer = [g for g in generations.all() if g > live_before["generation"]]
                if newer and client.count(index=generations.index("documents", newer[-1]))["count"] > len(live_before["documents"]):
                    break
                time.sleep(0.2)
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=60) == -signal.SIGKILL, "the run ended before a batch was committed"
        client.close()

        # the aliased live generation is untouched, consistent, and the killed run's generation is kept to resume
        assert snapshot(settings, encoder) == live_before
        report = check_configured(settings)
        assert report.ok, report.problems
        assert any("resumable by the next run" in note for note in report.notes), report.notes

        resumed = index_paths([second], settings, encoder)
        assert _without_generation(snapshot(settings, encoder)) == _without_generation(after_second)
        assert (resumed.documents_added, resumed.documents_updated, resumed.documents_unchanged) == clean_counts
        added_now = resumed.passages_added
        total_new = len(after_second["passages"]) - len(after_first["passages"])
        assert 0 < added_now < total_new  # committed batches were not encoded again
        final = check_configured(settings)
        assert final.ok and not final.notes, (final.problems, final.notes)
    finally:
        _drop(settings)


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)
def test_resumed_writer_repairs_half_written_documents(tmp_path: Path) -> None:
    """A kill inside a bulk request: a document missing a passage, a passage of no document. The next
    writer with the same starting point adopts the generation, removes both, and the run re-adds."""
    from indexer.backend import AddedDocument, open_backend
    from indexer.schema import Document, Passage

    settings = _settings(tmp_path, unique_prefix())
    backend = open_backend(settings)
    try:
        def added(doc_id: str, n: int) -> AddedDocument:
            doc = Document(id=doc_id, kind="report", text="x", source_path=f"/src/{doc_id}.txt", language="fr")
            passages = [Passage(doc_id=doc_id, ordinal=i, text=f"Épanchement {doc_id} {i}.") for i in range(n)]
            return AddedDocument(doc, passages, None, np.eye(4, dtype=np.float32)[:n])

        killed = backend.writer("t", 4)
        [pids_a, _] = killed.add_documents([added("A", 2), added("B", 1)])
        killed.commit()  # a checkpoint, then the process "dies": no abort, no publish
        client, generation = backend.client, killed.generation
        passages_index = backend.generations.index("passages", generation)
        client.delete(index=passages_index, id=str(pids_a[1]))
        client.index(index=passages_index, id="99", document={"doc_id": "NOBODY", "pid": 99, "text": "stray"})
        client.indices.refresh(index=passages_index)

        resumed = backend.writer("t", 4)
        assert resumed.generation == generation
        assert resumed.resumed_from == ["A"]
        assert resumed.content_hashes().keys() == {"B"}
        resumed.add_documents([added("A", 2)])
        resumed.publish()
        backend.refresh()
        report = es_check.check_elasticsearch(settings, client=client)
        assert report.ok, report.problems
        assert (report.documents, report.passages) == (2, 3)
    finally:
        backend.drop_everything()
        backend.close()


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)
def test_check_names_damage_in_the_live_generation(tmp_path: Path) -> None:
    from indexer.backend import AddedDocument, open_backend
    from indexer.check import check_configured
    from indexer.schema import Document, Passage

    settings = _settings(tmp_path, unique_prefix())
    backend = open_backend(settings)
    try:
        for _ in range(2):  # two published generations
            with backend.writer("t", 4) as writer:
                doc = Document(id="A", kind="report", text="x", source_path="", language="fr")
                passages = [Passage(doc_id="A", ordinal=i, text=f"Pneumothorax {i}.") for i in range(2)]
                writer.remove_documents(["A"])
                [pids] = writer.add_documents([AddedDocument(doc, passages, None, np.eye(4, dtype=np.float32)[:2])])
                writer.publish()
        assert check_configured(settings).ok
        client, gens = backend.client, backend.generations
        live = gens.live()
        index = gens.index("passages", live)
        client.indices.put_settings(index=index, settings={"index.blocks.write": False})
        client.delete(index=index, id=str(pids[0]))
        client.index(index=index, id="77", document={"doc_id": "GHOST", "pid": 77, "text": "orphan"})
        client.indices.refresh(index=index)
        problems = "\n".join(check_configured(settings).problems)
        assert f"passages: 1 passages of the metadata store missing: {pids[0]}" in problems
        assert "passages: 1 orphan passages (not in the metadata store): 77" in problems
        # the documents alias moved to the older generation: searches would mix two generations
        client.indices.update_aliases(actions=[
            {"remove": {"index": gens.index("documents", live), "alias": gens.alias("documents")}},
            {"add": {"index": gens.index("documents", live - 1), "alias": gens.alias("documents")}},
        ])
        assert any("different generations" in p for p in check_configured(settings).problems)
    finally:
        backend.drop_everything()
        backend.close()


@pytest.mark.elasticsearch
@pytest.mark.skipif(not ES_URL, reason=SKIP_REASON)
def test_zero_vector_does_not_fail_the_run(tmp_path: Path) -> None:
    """Elasticsearch's cosine rejects a zero vector (the whole bulk item fails, and with it the run):
    such a passage is stored without one, found by the lexical leg, never by kNN (in FAISS it scores 0)."""
    from indexer.backend import AddedDocument, open_backend
    from indexer.schema import Document, Passage

    backend = open_backend(_settings(tmp_path, unique_prefix()))
    try:
        with backend.writer("t", 4) as writer:
            doc = Document(id="Z", kind="report", text="x", source_path="", language="fr")
            passages = [Passage(doc_id="Z", ordinal=0, text="Pneumothorax droit.")]
            writer.add_documents([AddedDocument(doc, passages, None, np.zeros((1, 4), dtype=np.float32))])
            writer.ensure_image_space("descriptor", 3, "d")
            writer.put_image_vectors("descriptor", [("Z", "k", np.zeros(3, dtype=np.float32))])
            writer.publish()
        backend.refresh()
        assert [h.pid for h in backend.lexical_search("pneumothorax", 5)] == [0]
        assert backend.stats().passages == 1
    finally:
        backend.drop_everything()
        backend.close()
