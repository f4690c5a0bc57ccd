"""A query that itself asks about relatives (« antécédents familiaux de cancer du sein », "family history of
colon cancer", « mère atteinte de … ») searches the family-history field, where the indexer keeps those
mentions. Before: the family field was only searched with ``include_family``, so the physician's own
question found the patients who have the disease (or nothing) and not those whose mother had it."""

from __future__ import annotations

import pytest

from engine_support import engine_over_reports
from indexer.clinical.query import family_parts, parse_clinical_query
from search_api.models import SearchRequest
from search_api.query_plan import plan_query

REPORTS = {
    # French: the mother's breast cancer (a family-history section), the patient's own, an unrelated one
    "FAM_FR": "Antécédents familiaux : mère décédée d'un cancer du sein à 62 ans.\n\nPoumons clairs, pas d'épanchement.",
    "OWN_FR": "Cancer du sein gauche traité par tumorectomie en 2019. Pas de lésion pulmonaire suspecte.",
    "OTHER_FR": "Silhouette cardiaque normale. Pas de foyer pulmonaire.",
    # English: the father's colon cancer (an inline cue), the patient's own
    "FAM_EN": "Family history of colon cancer in his father. The lungs are clear.",
    "OWN_EN": "Colon cancer resected in 2020, no recurrence. The lungs are clear.",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return engine_over_reports(tmp_path_factory.mktemp("family"), REPORTS)


def _name(doc_id: str) -> str:
    return doc_id.rsplit("/", 1)[-1].removesuffix(".txt").removeprefix("report:")


def _search(engine, q: str, **options):  # noqa: ANN001, ANN003, ANN202
    response = engine.search(SearchRequest(q=q, limit=10, **options))
    return [_name(r.id) for r in response.results], response.total


@pytest.mark.parametrize("query", ["antécédents familiaux de cancer du sein", "ATCD familiaux de cancer du sein",
                                   "mère atteinte de cancer du sein", "cancer du sein chez la mère"])
def test_a_french_family_history_query_finds_the_relatives_mentions(engine, query: str) -> None:  # noqa: ANN001
    found, total = _search(engine, query)
    assert found[:1] == ["FAM_FR"] and total == 1  # counted, first, and the patient's own cancer is not an answer
    assert "OWN_FR" not in found


def test_the_result_is_labelled_family_and_its_snippet_marks_the_concept(engine) -> None:  # noqa: ANN001
    result = engine.search(SearchRequest(q="antécédents familiaux de cancer du sein", limit=3)).results[0]
    assert result.context == "family" and "<mark>cancer</mark> du <mark>sein</mark>" in result.snippet
    assert "<mark>Antécédents</mark>" not in result.snippet  # the cue words are not searched


@pytest.mark.parametrize("query", ["family history of colon cancer", "father with colon cancer"])
def test_an_english_family_history_query_finds_the_relatives_mentions(engine, query: str) -> None:  # noqa: ANN001
    found, total = _search(engine, query)
    assert found[:1] == ["FAM_EN"] and total == 1
    assert "OWN_EN" not in found


def test_the_concept_alone_keeps_family_mentions_out(engine) -> None:  # noqa: ANN001
    found, total = _search(engine, "cancer du sein", mode="lexical")
    assert found == ["OWN_FR"] and total == 1
    assert _search(engine, "colon cancer", mode="lexical") == (["OWN_EN"], 1)


def test_include_family_false_wins_over_the_cue(engine) -> None:  # noqa: ANN001
    found, total = _search(engine, "antécédents familiaux de cancer du sein", include_family=False, mode="lexical")
    assert "FAM_FR" not in found and total == 1  # as before the cue was read: the affirmed field only
    _, hybrid_total = _search(engine, "family history of colon cancer", include_family=False)
    assert hybrid_total == 1
    assert _search(engine, "antécédents familiaux de cancer du sein", include_family=True)[0][:1] == ["FAM_FR"]


def test_the_cue_words_are_not_searched_and_the_interpretation_says_family() -> None:
    plan = plan_query(SearchRequest(q="antécédents familiaux de cancer du sein"))
    assert plan.lexical_statuses == ("family",) and plan.lexical_text == "" and plan.required == []
    assert plan.concepts[0][0] == "cancer du sein"
    assert plan.dense_text is None  # search.family_dense off: passages are embedded without their family text
    assert plan.interpretation is not None and plan.interpretation.family_terms == ["cancer du sein"]
    assert plan.interpretation.affirmed_terms == []


def test_a_mixed_query_requires_the_relatives_part_in_the_family_field() -> None:
    plan = plan_query(SearchRequest(q="diabète, mère atteinte de cancer du sein"))
    assert plan.lexical_statuses == ("affirmed", "hypothetical")
    assert [forms[0] for forms in plan.concepts] == ["diabète"]
    # in the mother's family mentions (« mère »: indexer.backend.base.status_fields), not any relative's
    assert [(forms[0], statuses) for forms, statuses in plan.required] == [("cancer du sein", ("family:mother",))]
    assert plan.family_relatives == ("mother",)
    assert plan.dense_text == "diabète"


@pytest.mark.parametrize(("query", "expected"), [
    ("antécédents familiaux de cancer du sein", ([], ["cancer du sein"])),
    ("mother with breast cancer", ([], ["breast cancer"])),  # « with » does not end the cue's scope in a query
    ("cancer du sein familial", ([], ["cancer du sein"])),  # a post cue qualifies what precedes it
    ("diabète, mère atteinte de cancer du sein", (["diabète"], ["atteinte de cancer du sein"])),
    ("pneumothorax sans épanchement pleural", (["pneumothorax"], [])),
])
def test_family_parts(query: str, expected: tuple[list[str], list[str]]) -> None:
    assert family_parts(parse_clinical_query(query)) == expected
