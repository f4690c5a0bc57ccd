"""« IDM ST- » is not « SCA ST+ »: signed abbreviations (« ST+ », « ST- », « ST− ») and "non-ST" are tokens
of their own in the lexicon's tokenizer, the lexical index's analysis (index and query time) and snippet
highlighting (indexer/text/signs.py). Before, both tokenizers dropped the sign: « IDM ST- » was searched as
« IDM ST » and found STEMIs, and "non-ST-elevation" held the STEMI phrase "ST elevation"."""

from __future__ import annotations

import pytest

from engine_support import engine_over_reports
from indexer.clinical.lexicon import load_default_lexicon
from indexer.clinical.text import tokenize
from indexer.text.analyzers import term_spans, terms
from indexer.text.signs import analysis_text
from search_api.models import SearchRequest
from search_api.snippets import QueryMatcher, fast_term_spans, query_spans


@pytest.mark.parametrize(("text", "norms"), [
    ("IDM ST- ce jour", ["idm", "st-", "ce", "jour"]),
    ("SCA ST+.", ["sca", "st+", "."]),
    ("SCA ST\u2212", ["sca", "st-"]),  # unicode minus: the same as « - »
    ("HER2+, CMV-", ["her2+", ",", "cmv-"]),
    ("non-ST-elevation MI", ["nonst", "elevation", "mi"]),
    # everything else tokenises as before
    ("SCA ST+/-", ["sca", "st", "+", "/"]),  # either sign: plain ST
    ("+/- 2", ["+", "/", "2"]),
    ("le 12-03-2024 à -2", ["le", "12", "03", "2024", "a", "2"]),
    ("post-opératoire", ["post", "operatoire"]),
    ("pré- et post-opératoire", ["pre", "et", "post", "operatoire"]),  # suspended hyphen, lower case
    ("ST-elevation", ["st", "elevation"]),
    ("COVID-19", ["covid", "19"]),
    ("non-Hodgkin", ["non", "hodgkin"]),
    # « st » with a sign in any case (typed quickly: « idm st- »); nothing else in lower case
    ("idm st- ce jour", ["idm", "st-", "ce", "jour"]),
    ("sca St+, non-st elevation", ["sca", "st+", ",", "nonst", "elevation"]),
    ("sca st\u2212", ["sca", "st-"]),
    ("St-Étienne, 1st-degree, post- et pré-opératoire", ["st", "etienne", ",", "1", "st", "degree", ",", "post", "et", "pre", "operatoire"]),
    ("st-elevation, non-stop, sca st+/-", ["st", "elevation", ",", "non", "stop", ",", "sca", "st", "+", "/"]),
    ("anti- et pro-inflammatoire, test- retest", ["anti", "et", "pro", "inflammatoire", ",", "test", "retest"]),
    ("her2+ cmv-", ["her2", "+", "cmv"]),  # lower case: only « st » is read with its sign
])
def test_lexicon_tokens(text: str, norms: list[str]) -> None:
    assert [t.norm for t in tokenize(text)] == norms


@pytest.mark.parametrize(("text", "expected"), [
    ("IDM ST-", ["idm", "stminus"]),
    ("IDM ST\u2212", ["idm", "stminus"]),
    ("SCA ST+", ["sca", "stplus"]),
    ("SCA ST+/-", ["sca", "st"]),
    ("non-ST-elevation", ["nonst", "elev"]),
    ("post-opératoire le 12-03-2024, +/- -2", ["post", "operatoir", "12", "03", "2024", "2"]),
    ("idm st-", ["idm", "stminus"]),
    ("sca St+", ["sca", "stplus"]),
    ("St-Étienne post- et pré-op", ["st", "etien", "post", "pre", "op"]),
])
def test_analysed_terms(text: str, expected: list[str]) -> None:
    assert terms(text, "fr") == expected


def test_term_spans_are_offsets_of_the_text_as_typed() -> None:
    text = "Bilan : SCA ST\u2212 et non-ST-elevation, post-op J2."
    spans = [(term, text[start:end]) for term, start, end in term_spans(text, "fr")]
    assert ("stminus", "ST\u2212") in spans and ("nonst", "non-ST") in spans and ("op", "op") in spans
    # the regex tokenisation of snippets gives the same tokens as the analyzers
    fast = [(analysed[0], start, end) for analysed, start, end in fast_term_spans(text) if analysed[0]]
    assert fast == term_spans(text, "fr")


def test_analysis_text_leaves_other_text_alone() -> None:
    text = "Épanchement +/- 2 cm le 12-03-2024, post-opératoire, ST+/-, COVID-19."
    assert analysis_text(text) == text


@pytest.mark.parametrize(("query", "concept"), [
    ("IDM ST-", "nstemi"),
    ("IDM ST\u2212", "nstemi"),
    ("SCA ST-", "nstemi"),
    ("NSTEMI", "nstemi"),
    ("non-ST-elevation myocardial infarction", "nstemi"),
    ("SCA ST+", "stemi"),
    ("IDM ST+", "stemi"),
    ("STEMI", "stemi"),
    ("sus-décalage du ST", "stemi"),
    ("SCA ST+/-", "acute_coronary_syndrome"),  # either sign: the syndrome
    ("idm st-", "nstemi"),  # lower case, as typed quickly
    ("sca st-", "nstemi"),
    ("idm st+", "stemi"),
    ("Sca St+", "stemi"),
])
def test_lexicon_tells_the_signs_apart(query: str, concept: str) -> None:
    assert load_default_lexicon().expand_query(query).concept_ids == [concept]


def test_a_broader_concept_finds_its_narrower_concepts_abbreviations() -> None:
    """« IDM » still finds the reports that only say « SCA ST+ » (before: a synonym of the infarction)."""
    terms_ = load_default_lexicon().expansion_terms("myocardial_infarction")
    assert {"SCA ST+", "IDM ST-", "NSTEMI", "STEMI"} <= set(terms_)


REPORTS = {
    "N1": "Conclusion : IDM ST- inférieur, troponine positive. Coronarographie à J1.",
    "N2": "Conclusion : infarctus du myocarde sans sus-décalage du segment ST. Coronarographie prévue.",
    "N3": "Impression: non-ST-elevation myocardial infarction (NSTEMI). Troponin rise.",
    "S1": "Conclusion : SCA ST+ antérieur. Angioplastie primaire de l'IVA.",
    "S2": "Conclusion : infarctus du myocarde avec sus-décalage du segment ST antérieur. Angioplastie.",
    "S3": "Impression: ST-elevation myocardial infarction, anterior. Primary PCI.",
    "X": "Conclusion : douleur thoracique atypique, ECG normal. Pas de syndrome coronarien aigu.",
    # typed quickly, in lower case: read as the signed tokens all the same
    "N4": "Observation : idm st- latéral, troponine 900 ng/L.",
    "S4": "Observation : sca st+ inférieur, thrombolyse.",
}
NSTEMI, STEMI = {"N1", "N2", "N3", "N4"}, {"S1", "S2", "S3", "S4"}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return engine_over_reports(tmp_path_factory.mktemp("signed"), REPORTS)


def _ranked(engine, q: str) -> list[str]:  # noqa: ANN001
    response = engine.search(SearchRequest(q=q, mode="lexical", limit=20))
    return [r.id.rsplit("/", 1)[-1].removesuffix(".txt").removeprefix("report:") for r in response.results]


def _above(ranked: list[str], wanted: set[str], other: set[str]) -> bool:
    """Every *wanted* document found is ranked above every *other* one found."""
    last_wanted = max((i for i, d in enumerate(ranked) if d in wanted), default=-1)
    first_other = min((i for i, d in enumerate(ranked) if d in other), default=len(ranked))
    return last_wanted < first_other


@pytest.mark.parametrize(("query", "at_least"), [
    ("IDM ST-", {"N1", "N2", "N3"}),
    ("IDM ST\u2212", {"N1", "N2", "N3"}),
    ("SCA ST-", {"N1", "N2", "N3"}),
    ("NSTEMI", {"N1", "N2", "N3"}),
    # the NSTEMI by name (query_plan.narrower_named_by_negation): also the reports that say « IDM ST- » or NSTEMI
    ("IDM sans sus-décalage du segment ST", {"N1", "N2", "N3"}),
    ("IDM sans sus-décalage", {"N1", "N2", "N3"}),
    ("non-ST-elevation myocardial infarction", {"N1", "N2", "N3"}),
    ("idm st-", {"N1", "N2", "N3", "N4"}),  # lower case: the same as « IDM ST- »
    ("sca st-", {"N1", "N2", "N3", "N4"}),
])
def test_nstemi_queries_rank_nstemi_reports_first(engine, query: str, at_least: set[str]) -> None:  # noqa: ANN001
    ranked = _ranked(engine, query)
    assert at_least <= set(ranked)
    assert _above(ranked, NSTEMI, STEMI), ranked


@pytest.mark.parametrize(("query", "at_least"), [
    ("SCA ST+", {"S1", "S2", "S3"}),
    ("IDM ST+", {"S1", "S2", "S3"}),
    ("STEMI", {"S1", "S2", "S3"}),
    ("avec sus-décalage du ST", {"S1", "S2", "S3"}),
    ("ST elevation MI", {"S1", "S2", "S3"}),
    # the STEMI by name (query_plan.narrower_named_by_attribute); before: IDM + the loose word « sus-décalage »
    ("IDM avec sus-décalage", {"S1", "S2", "S3"}),
    ("SCA avec sus-décalage", {"S1", "S2", "S3"}),
    ("MI with ST elevation", {"S1", "S2", "S3"}),
    ("sca st+", {"S1", "S2", "S3", "S4"}),
])
def test_stemi_queries_rank_stemi_reports_first(engine, query: str, at_least: set[str]) -> None:  # noqa: ANN001
    ranked = _ranked(engine, query)
    assert at_least <= set(ranked)
    assert _above(ranked, STEMI, NSTEMI), ranked


def test_idm_still_finds_both(engine) -> None:  # noqa: ANN001
    assert NSTEMI | STEMI <= set(_ranked(engine, "IDM"))


TEXTS = ["Conclusion : SCA ST+ antérieur.", "Conclusion : SCA ST- , troponine.", "SCA ST+/- à préciser.",
         "IDM ST\u2212 inférieur.", "HER2+ et non-HER2."]


@pytest.mark.parametrize(("query", "marked"), [
    ('"SCA ST+"', [["SCA", "ST+"], [], [], [], []]),
    ('"SCA ST-"', [[], ["SCA", "ST-"], [], [], []]),
    ("ST-", [[], ["ST-"], [], ["ST\u2212"], []]),
    ("HER2 non-HER2", [[], [], [], [], ["non-HER2"]]),
])
def test_snippets_mark_the_sign_typed(query: str, marked: list[list[str]]) -> None:
    spans = QueryMatcher(query).spans_many(TEXTS)
    assert [[text[a:b] for a, b in found] for text, found in zip(TEXTS, spans)] == marked
    assert spans == [query_spans(text, query) for text in TEXTS]  # the page's fast path = the reference


def test_search_snippet_of_an_nstemi_query(engine) -> None:  # noqa: ANN001
    response = engine.search(SearchRequest(q="IDM ST-", mode="lexical", limit=20))
    by_id = {r.id.rsplit("/", 1)[-1].removesuffix(".txt").removeprefix("report:"): r.snippet for r in response.results}
    assert "<mark>ST-</mark>" in by_id["N1"]
    assert all("ST+" not in (snippet or "") or "<mark>ST+</mark>" not in snippet for snippet in by_id.values())


@pytest.mark.parametrize(("affirmed", "negated", "named"), [
    ("IDM", "sus-décalage", "nstemi"),
    ("infarctus du myocarde", "sus-décalage du segment ST", "nstemi"),
    ("myocardial infarction", "ST elevation", None),  # "non-ST elevation" is no « without » name
    ("IDM", "fièvre", None),  # a negated finding, not a narrower concept's name
    ("pneumothorax", "épanchement", None),
    # the ACS: NSTEMI is not its child, but « syndrome coronarien aigu sans sus-décalage » is an NSTEMI name
    ("SCA", "sus-décalage", "nstemi"),
])
def test_narrower_concept_named_by_a_negation(affirmed: str, negated: str, named: str | None) -> None:
    from search_api.query_plan import narrower_named_by_negation

    assert narrower_named_by_negation(affirmed, negated, load_default_lexicon()) == named


def test_plan_of_idm_sans_sus_decalage() -> None:
    """One concept, no required negated clause; the dense leg still embeds « IDM » only."""
    from search_api.query_plan import plan_query

    plan = plan_query(SearchRequest(q="IDM sans sus-décalage"))
    assert [t.concept_id for t in plan.expanded_terms] == ["nstemi"] and plan.required == []
    assert {"IDM ST-", "NSTEMI"} <= set(plan.concepts[0]) and plan.dense_text == "IDM"
    # what the portal shows as the query's reading: the NSTEMI, affirmed; nothing searched as negated
    assert plan.interpretation is not None
    assert (plan.interpretation.affirmed_terms, plan.interpretation.negated_terms) == (["IDM sans sus-décalage"], [])


PHRASE_TEXTS = ["Impression: non-ST-elevation myocardial infarction (NSTEMI).", "ECG: ST elevation in the anterior leads.",
                "No ST elevation. Elevation of troponin.", "ST-elevation myocardial infarction, anterior.",
                # long: the fast path reads windows of the text around each word, not all of it
                "Impression: " + "stable " * 80 + "non-ST-elevation myocardial infarction. " + "stable " * 80 + "ST elevation in V2."]


@pytest.mark.parametrize(("query", "marked"), [
    # « ST » is never highlighted (two letters) but stays part of the phrase: not "elevation" of "non-ST-elevation"
    ('"ST elevation"', [[], ["elevation"], ["elevation"], ["elevation"], ["elevation"]]),
    ('"ST-elevation myocardial infarction" STEMI', [[], [], [], ["elevation", "myocardial", "infarction"], []]),
    ('"non-ST-elevation myocardial infarction"', [["non-ST", "elevation", "myocardial", "infarction"], [], [], [],
                                                   ["non-ST", "elevation", "myocardial", "infarction"]]),
])
def test_phrase_highlighting_respects_signed_and_non_tokens(query: str, marked: list[list[str]]) -> None:
    spans = QueryMatcher(query).spans_many(PHRASE_TEXTS)
    assert [[text[a:b] for a, b in found] for text, found in zip(PHRASE_TEXTS, spans)] == marked
    assert spans == [query_spans(text, query) for text in PHRASE_TEXTS]  # the page's fast path = the reference
