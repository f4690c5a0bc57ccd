"""The foundation's quality bar, checked on a small generated demo corpus with the real encoder.

* a French query for a finding returns the reports that affirm it above reports that never mention it;
* an English query finds the French reports on the same finding (cross-lingual);
* filtering by patient returns only that patient's documents.
"""

from __future__ import annotations

import json

import pytest

from eval.run_clinical import source_aliases
from indexer.demo.generate import generate_corpus
from indexer.pipeline import index_paths
from indexer.settings import Settings
from search_api.models import SearchRequest
from search_api.engine_factory import build_engine

FINDING = "épanchement pleural"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, encoder):
    root = tmp_path_factory.mktemp("demo")
    corpus = root / "corpus"
    generate_corpus(corpus, seed=7, n_patients=24)
    settings = Settings(index={"dir": root / "index"})
    index_paths([corpus / "reports", corpus / "records"], settings, encoder)
    truth = json.loads((corpus / "ground_truth.json").read_text(encoding="utf-8"))
    engine = build_engine(settings, encoder)
    # the ground truth names documents by file stem; index ids are the sources' own identifiers
    aliases = source_aliases(engine)
    return engine, {aliases[name]: entry for name, entry in truth.items() if name in aliases}


def _mentions(entry: dict, finding: str) -> set[str]:
    return {status for status, names in entry.get("findings", {}).items() if finding in names}


def test_french_finding_query_ranks_affirming_reports_above_unrelated(demo) -> None:
    engine, truth = demo
    reports = {doc_id for doc_id, e in truth.items() if e["kind"] == "report"}
    affirming = {d for d in reports if "affirmed" in _mentions(truth[d], FINDING)}
    unrelated = {d for d in reports if not _mentions(truth[d], FINDING)}
    assert affirming, "the generated corpus should contain the finding"
    ranked = [r.id for r in engine.search(SearchRequest(q=FINDING, kinds=["report"], limit=100)).results]
    positions = {doc_id: i for i, doc_id in enumerate(ranked)}
    last_affirming = max(positions.get(d, len(ranked)) for d in affirming)
    first_unrelated = min((positions[d] for d in unrelated if d in positions), default=len(ranked))
    assert last_affirming < first_unrelated


def test_english_query_finds_french_reports_on_the_finding(demo) -> None:
    engine, truth = demo
    affirming = {d for d, e in truth.items() if e["kind"] == "report" and e["language"] == "fr" and "affirmed" in _mentions(e, FINDING)}
    results = engine.search(SearchRequest(q="pleural effusion", kinds=["report"], language="fr", limit=10)).results
    assert results and all(r.language == "fr" for r in results)
    assert "affirmed" in _mentions(truth[results[0].id], FINDING)
    assert affirming <= {r.id for r in results[: len(affirming) + 1]}


def test_patient_filter_returns_only_that_patient(demo) -> None:
    engine, truth = demo
    patient = next(e["patient_id"] for e in truth.values() if e["kind"] == "report" and e.get("patient_id"))
    results = engine.search(SearchRequest(q="scanner", patient_id=patient, limit=50)).results
    expected = {d for d, e in truth.items() if e.get("patient_id") == patient and e["kind"] in ("report", "record")}
    assert results and {r.patient_id for r in results} == {patient}
    assert {r.id for r in results} <= expected
