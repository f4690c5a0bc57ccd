"""Cues that are words of a concept's name (indexer/clinical/named_cues.py) and names completed by
« avec » / "with" (search_api/query_plan.narrower_named_by_attribute).

Before: the « sans » of « Syndrome coronarien aigu sans sus-décalage du segment ST, nécrose myocardique
(NSTEMI) » negated everything up to the end of the sentence, so the letter matched « sans infarctus du
myocarde » and a cohort of affirmed infarctions missed the patient; « IDM avec sus-décalage » was IDM and
the loose word « sus-décalage » (NSTEMI letters ranked first)."""

from __future__ import annotations

import pytest

from engine_support import engine_over_reports
from indexer.clinical.context import split_by_context
from indexer.clinical.lexicon import load_default_lexicon
from indexer.clinical.mentions import mention_at, mention_index
from search_api.models import SearchRequest
from search_api.query_plan import narrower_named_by_attribute, narrower_named_by_negation, plan_query

LETTER = "Diagnostic de sortie : Syndrome coronarien aigu sans sus-décalage du segment ST, nécrose myocardique (NSTEMI)."


def _negated(text: str, language: str = "fr") -> list[str]:
    return [s.text for s in split_by_context(text, language) if s.status.value != "affirmed"]


@pytest.mark.parametrize(("text", "language", "negated"), [
    # the name's cue qualifies the name only: « nécrose myocardique (NSTEMI) » is affirmed
    (LETTER, "fr", ["sans sus-décalage"]),
    ("Scanner sans injection, épanchement pleural gauche.", "fr", ["sans injection"]),
    ("Migraine without aura, nausea and photophobia.", "en", ["without aura"]),
    # a cue that names nothing keeps its scope (no lexicon name « sus-décalage ... sans »)
    ("ECG : sous-décalage du segment ST en V4-V6, sans sus-décalage du segment ST.", "fr", ["sans sus-décalage du segment ST"]),
    ("Infarctus du myocarde sans sus-décalage du segment ST, nécrose myocardique.", "fr",
     ["sans sus-décalage du segment ST, nécrose myocardique"]),  # not a lexicon name: the rules as before
    # a name that starts with its cue is a negated finding heading a list, as any cue
    ("Absence d'anomalie ou d'épanchement.", "fr", ["Absence d'anomalie ou d'épanchement"]),
    # a cue inside a name does not end an earlier cue's scope: the whole name stays negated
    ("Pas de syndrome coronarien aigu sans sus-décalage du segment ST.", "fr",
     ["Pas de syndrome coronarien aigu sans sus-décalage du segment ST"]),
])
def test_a_cue_inside_a_name_qualifies_that_name_only(text: str, language: str, negated: list[str]) -> None:
    assert _negated(text, language) == negated


def test_stored_mentions_agree() -> None:
    """Snippets read the stored analysis: « NSTEMI » of the letter is affirmed, « sus-décalage » negated."""
    stored = mention_index(LETTER, "fr")
    for word, status in (("NSTEMI", "affirmed"), ("nécrose", "affirmed"), ("sus-décalage", "negated")):
        start = LETTER.index(word)
        assert mention_at(stored, start, start + len(word))[1].value == status, word


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    reports = {
        "L": LETTER,
        "NEG": "Conclusion : pas d'infarctus du myocarde. Douleur pariétale.",
        "MIG": "Migraine sans aura, céphalées quotidiennes.",
        "HA": "Conclusion : céphalées de tension.",
    }
    return engine_over_reports(tmp_path_factory.mktemp("named-cues"), reports,
                               patients={k: f"P00000{i}" for i, k in enumerate(reports, 1)})


def _found(engine, q: str) -> list[str]:  # noqa: ANN001
    response = engine.search(SearchRequest(q=q, mode="lexical", limit=10))
    return sorted(r.id.rsplit("/", 1)[-1].removesuffix(".txt").removeprefix("report:") for r in response.results)


@pytest.mark.parametrize(("query", "expected"), [
    ("sans infarctus du myocarde", ["NEG"]),  # before: ["L", "NEG"] (« nécrose myocardique », « NSTEMI » negated)
    ("no myocardial infarction", ["NEG"]),
    ("nécrose myocardique", ["L"]),  # before: nothing (negated)
    ("NSTEMI", ["L"]),
    ("céphalées", ["HA", "MIG"]),  # before: « céphalées » of MIG was negated by « sans aura »
    ("aura", []),  # « sans aura » is still a negated aura
])
def test_search(engine, query: str, expected: list[str]) -> None:  # noqa: ANN001
    assert _found(engine, query) == expected


def test_cohort_of_affirmed_infarctions_holds_the_nstemi_patient(engine) -> None:  # noqa: ANN001
    from indexer.backend.filters import DocumentFilter
    from search_api.cohort_engine import evaluate
    from search_api.cohorts import CohortDefinition

    members, _ = evaluate(engine, CohortDefinition(criteria=[{"q": "IDM"}]), DocumentFilter())
    assert [m.patient_id for m in members] == ["P000001"]


@pytest.mark.parametrize(("query", "named"), [
    ("IDM avec sus-décalage", "stemi"),
    ("infarctus avec sus-décalage", "stemi"),
    ("infarctus du myocarde avec sus-décalage du segment ST", "stemi"),
    ("SCA avec sus-décalage", "stemi"),  # « syndrome coronarien aigu avec sus-décalage » is a STEMI name
    ("MI with ST elevation", "stemi"),  # "ST elevation" is a STEMI name, narrower than MI
    ("myocardial infarction with ST elevation", "stemi"),
    ("patients avec IDM", None),  # the head names nothing
    ("IDM avec fièvre", None),  # a finding, not a name
    ("migraine avec aura", None),  # a synonym of the head's own concept: nothing narrower
    ("IDM avec sus-décalage avec miroir", None),  # two « avec »
])
def test_names_completed_by_avec(query: str, named: str | None) -> None:
    assert narrower_named_by_attribute(query, load_default_lexicon()) == named


def test_sca_sans_sus_decalage_is_the_nstemi() -> None:
    assert narrower_named_by_negation("SCA", "sus-décalage", load_default_lexicon()) == "nstemi"


def test_plan_of_idm_avec_sus_decalage() -> None:
    plan = plan_query(SearchRequest(q="IDM avec sus-décalage"))
    assert [t.concept_id for t in plan.expanded_terms] == ["stemi"]
    [forms] = plan.concepts
    assert forms[0] == "IDM avec sus-décalage" and "SCA ST+" in forms and "IDM ST-" not in forms
    assert plan.lexical_text == ""  # no loose « sus-décalage » any more
