"""The brief's "pneumothorax after central line" on the demo's post-line radiographs (indexer/demo/central_lines.py):
the few that affirm an iatrogenic pneumothorax first, the many « contrôle post-pose de VVC : pas de pneumothorax »
after them, in French and English, lexical and hybrid (``search.demote_negating_dense``: the dense leg reads
meaning, not polarity, and brought the negated radiographs above documents that affirm the finding)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.backend.filters import DocumentFilter
from indexer.demo.central_lines import PLAN, write_central_line_radiographs
from search_api.models import SearchRequest

DISTRACTORS = {  # a pneumothorax without a line, and a line-free radiograph ruling one out
    "X-SPONT": "Conclusion : pneumothorax spontané droit de moyenne abondance, drainage pleural.",
    "X-NEG": "Conclusion : pas de pneumothorax, pas d'épanchement pleural.",
}
QUERIES = ("pneumothorax after central line", "pneumothorax après pose de voie centrale",
           "pneumothorax post-pose de VVC", "pneumothorax sur KTC", "iatrogenic pneumothorax CVC")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from bench.lexical_overhead import HashEncoder
    from indexer.pipeline import index_paths
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine

    root = tmp_path_factory.mktemp("central-lines")
    corpus = root / "corpus"
    (corpus / "reports").mkdir(parents=True)
    truth = {"P000001": {"kind": "record", "concepts": [{"concept": "pneumothorax", "status": "affirmed"}]},
             "P000002": {"kind": "record", "concepts": []}}
    write_central_line_radiographs(corpus, 42, truth, 1)
    for name, text in DISTRACTORS.items():
        (corpus / "reports" / f"{name}.txt").write_text(f"Titre : Radiographie thoracique\n\n{text}\n", encoding="utf-8")
    config = Settings(index={"dir": root / "index"}, api={"audit_log": root / "audit.log"})
    encoder = HashEncoder()
    index_paths([corpus], config, encoder)
    engine = build_engine(config, encoder, clip=False)
    documents = engine.backend.get_documents(engine.backend.document_ids_where(DocumentFilter())).values()
    ids = {Path(d.source_path).stem: d.id for d in documents}
    by_status = {s: {ids[k] for k, e in truth.items() if k.startswith("RPT-") and e["concepts"][1]["status"] == s}
                 for s in ("affirmed", "negated")}
    return engine, ids, by_status


def _ranked(engine, query: str, mode: str) -> list[str]:  # noqa: ANN001
    return [r.id for r in engine.search(SearchRequest(q=query, mode=mode, limit=40)).results]


def test_the_corpus_has_a_few_affirmed_and_many_negated(demo) -> None:  # noqa: ANN001
    _, _, by_status = demo
    assert len(by_status["affirmed"]) == sum(s == "affirmed" for _, s in PLAN) == 6
    assert len(by_status["negated"]) == 14


@pytest.mark.parametrize("query", QUERIES)
def test_lexical_finds_exactly_the_affirmed_radiographs(demo, query: str) -> None:  # noqa: ANN001
    engine, _, by_status = demo
    assert set(_ranked(engine, query, "lexical")) == by_status["affirmed"]


@pytest.mark.parametrize("query", QUERIES)
def test_hybrid_ranks_every_affirmed_document_above_every_negated_one(demo, query: str) -> None:  # noqa: ANN001
    engine, ids, by_status = demo
    ranked = _ranked(engine, query, "hybrid")
    assert set(ranked[:6]) == by_status["affirmed"], ranked
    affirmed = by_status["affirmed"] | {ids["X-SPONT"]}
    negated = by_status["negated"] | {ids["X-NEG"]}
    last_affirmed = max(i for i, d in enumerate(ranked) if d in affirmed)
    first_negated = min((i for i, d in enumerate(ranked) if d in negated), default=len(ranked))
    assert last_affirmed < first_negated, ranked


def test_the_negating_documents_are_those_that_only_rule_it_out(demo) -> None:  # noqa: ANN001
    engine, ids, by_status = demo
    plan = engine.plan(SearchRequest(q="pneumothorax after central line"))
    every = list(ids.values())
    assert engine._negating_documents(plan, every) == by_status["negated"] | {ids["X-NEG"]}
    # a query asking for the negation, or one without concepts, demotes nothing
    assert engine._negating_documents(engine.plan(SearchRequest(q="pas de pneumothorax")), every) == set()
    assert engine._negating_documents(engine.plan(SearchRequest(q="pneumothorax", clinical=False)), every) == set()


def test_without_the_lever_the_dense_leg_interleaves_them(demo) -> None:  # noqa: ANN001
    """The hash encoder's dense leg ranks documents arbitrarily: with the lever off, some negated radiograph
    comes before some affirmed document (what the lever fixes); on, none does (the test above)."""
    engine, ids, by_status = demo
    engine.settings.demote_negating_dense = False
    try:
        orders = [_ranked(engine, query, "hybrid") for query in QUERIES]
    finally:
        engine.settings.demote_negating_dense = True
    affirmed = by_status["affirmed"] | {ids["X-SPONT"]}
    negated = by_status["negated"] | {ids["X-NEG"]}
    assert any(
        max(i for i, d in enumerate(r) if d in affirmed) > min((i for i, d in enumerate(r) if d in negated), default=len(r))
        for r in orders
    )


def _dense_first(engine, doc_ids: list[str]):  # noqa: ANN001, ANN202
    """A dense leg that ranks *doc_ids* (their first passage) first and nothing else: a strong dense-only hit."""
    every = engine.backend.documents_of(range(engine.backend.stats().passages))
    first = {}
    for pid, doc_id in sorted(every.items()):
        first.setdefault(doc_id, pid)
    return lambda plan, where, depth: [(first[d], 1.0 - i / 10) for i, d in enumerate(doc_ids)]


@pytest.mark.parametrize("query", QUERIES)
def test_all_findings_first_puts_every_document_with_both_findings_above_a_dense_only_hit(demo, query: str) -> None:  # noqa: ANN001
    """``search.all_findings_first``: the spontaneous pneumothorax (no line) that the dense leg ranks first
    comes after the six radiographs affirming a pneumothorax after a line; off, plain RRF puts it among them
    (English queries: the legs weigh the same)."""
    engine, ids, by_status = demo
    engine._dense_leg = _dense_first(engine, [ids["X-SPONT"]])
    shipped = engine.settings.all_findings_first
    try:
        engine.settings.all_findings_first = True
        on = _ranked(engine, query, "hybrid")
        engine.settings.all_findings_first = False
        off = _ranked(engine, query, "hybrid")
    finally:
        engine.settings.all_findings_first = shipped
        del engine._dense_leg
    assert set(on[:6]) == by_status["affirmed"] and on[6] == ids["X-SPONT"], on
    if engine.plan(SearchRequest(q=query)).language == "en":  # French: lexical weight 1.5, RRF already puts it 7th
        assert ids["X-SPONT"] in off[:6], off
    assert sorted(on) == sorted(off)  # the same documents, only the order differs


def test_all_findings_first_leaves_a_one_concept_query_to_plain_fusion(demo) -> None:  # noqa: ANN001
    engine, ids, _ = demo
    engine._dense_leg = _dense_first(engine, [ids["X-NEG"], ids["X-SPONT"]])
    shipped = engine.settings.all_findings_first
    try:
        engine.settings.all_findings_first = True
        plan = engine.plan(SearchRequest(q="pneumothorax"))
        assert len(plan.concepts) == 1
        on = _ranked(engine, "pneumothorax", "hybrid")
        engine.settings.all_findings_first = False
        off = _ranked(engine, "pneumothorax", "hybrid")
    finally:
        engine.settings.all_findings_first = shipped
        del engine._dense_leg
    assert on == off and ids["X-SPONT"] in on[:2]
