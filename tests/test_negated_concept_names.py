"""Concept names that hold a negation (« infarctus sans sus-décalage du segment ST », « migraine sans
aura »): the indexer keeps their second part in negated text, so they are searched as an affirmed head
AND a negated part in one passage (``indexer.backend.base.NEGATED_PART``), not as one phrase that can
never match. Before: « NSTEMI » and "migraine without aura" found nothing."""

from __future__ import annotations

import pytest

from engine_support import engine_over_reports
from indexer.backend.base import NEGATED_PART
from search_api.models import SearchRequest
from search_api.query_plan import plan_query, searchable_form

REPORTS = {
    "NSTEMI": "Conclusion : infarctus du myocarde sans sus-décalage du segment ST. Coronarographie prévue.",
    "NSTEMI2": "Conclusion : syndrome coronarien aigu sans sus-décalage. Troponine positive.",
    "STEMI": "Conclusion : infarctus du myocarde avec sus-décalage du segment ST antérieur. Angioplastie.",
    "NOSTE": "Conclusion : pas de sus-décalage du segment ST. Douleur thoracique atypique.",
    "MIG": "Migraine sans aura depuis l'enfance.",
    "MIGA": "Migraine avec aura visuelle.",
}


def test_searchable_form_splits_only_names_with_a_head_and_a_negated_part() -> None:
    assert searchable_form("infarctus sans sus-décalage du segment ST") == f"infarctus{NEGATED_PART}sus-décalage du segment ST"
    assert searchable_form("migraine without aura") == f"migraine{NEGATED_PART}aura"
    for plain in ("pneumothorax", "non-ST-elevation myocardial infarction", "sans anomalie", "absence de mamelon"):
        assert searchable_form(plain) == plain  # nothing negated, or nothing but a negation: as it is


def test_plan_of_an_abbreviation_searches_the_split_names() -> None:
    plan = plan_query(SearchRequest(q="NSTEMI"))
    [forms] = plan.concepts
    assert forms[0] == "NSTEMI" and f"infarctus{NEGATED_PART}sus-décalage du segment ST" in forms
    assert NEGATED_PART not in plan.highlight_text  # the marker is never highlighted as a word


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return engine_over_reports(tmp_path_factory.mktemp("negated-names"), REPORTS)


def _found(engine, q: str) -> list[str]:  # noqa: ANN001
    response = engine.search(SearchRequest(q=q, mode="lexical", limit=10))
    return sorted(r.id.rsplit("/", 1)[-1].removesuffix(".txt").removeprefix("report:") for r in response.results)


@pytest.mark.parametrize(("query", "expected"), [
    ("NSTEMI", ["NSTEMI", "NSTEMI2"]),
    ("non-ST-elevation myocardial infarction", ["NSTEMI", "NSTEMI2"]),
    # typed with « sans »: the narrower concept so named (query_plan.narrower_named_by_negation), as « NSTEMI »
    ("IDM sans sus-décalage", ["NSTEMI", "NSTEMI2"]),
    ("migraine without aura", ["MIG"]),
    ("migraine sans aura", ["MIG"]),
    ("aura", ["MIGA"]),  # « sans aura » is still a negated aura
    ("sus-décalage du segment ST", ["STEMI"]),
])
def test_concept_names_with_a_negation_find_their_reports(engine, query: str, expected: list[str]) -> None:  # noqa: ANN001
    assert _found(engine, query) == expected


def test_cohort_counts_affirmed_findings_not_suspected_ones(tmp_path) -> None:  # noqa: ANN001
    """A cohort « embolie pulmonaire » holds the patients who have one: not those for whom it was only
    suspected (« suspicion de », « à éliminer », then ruled out), which /search still lists, lower."""
    from indexer.backend.filters import DocumentFilter
    from search_api.cohort_engine import evaluate
    from search_api.cohorts import CohortDefinition

    reports = {
        "A": "Conclusion : embolie pulmonaire segmentaire droite.",
        "S": "Indication : suspicion d'embolie pulmonaire.",
        "E": "Conclusion : embolie pulmonaire à éliminer.",
        "N": "Conclusion : pas d'embolie pulmonaire.",
    }
    engine = engine_over_reports(tmp_path, reports, patients={k: f"P00000{i}" for i, k in enumerate(reports, 1)})
    members, _ = evaluate(engine, CohortDefinition(criteria=[{"q": "embolie pulmonaire"}]), DocumentFilter())
    assert [m.patient_id for m in members] == ["P000001"]
    found = {r.id.rsplit("/", 1)[-1].removeprefix("report:") for r in engine.search(SearchRequest(q="embolie pulmonaire", mode="lexical")).results}
    assert {"A.txt", "S.txt"} <= found  # the search still shows the suspected one (ranked below)
    negated, _ = evaluate(engine, CohortDefinition(criteria=[{"q": "sans embolie pulmonaire"}]), DocumentFilter())
    assert [m.patient_id for m in negated] == ["P000004"]
