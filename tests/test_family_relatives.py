"""Which relative a family-history mention is about (a physician's report: « antécédents familiaux :
père » also brought the mother's mentions, and the result only said « antécédent familial »).

The clinical context knew a mention was family history, not whose: family cues now name their relative
(``relatives`` of context_triggers.yaml), the stored mentions and the search results carry it, the
portal's label says it, and a query's family cues say which relatives it asks about.
"""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from auth_support import auth
from engine_support import site_over
from indexer.clinical.config import ContextStatus
from indexer.clinical.context import relatives_match, split_by_context
from indexer.clinical.mentions import mention_at, mention_index, mention_status_at
from indexer.clinical.query import family_parts, family_relatives, parse_clinical_query

DR = auth("clinician", "dr.family")

LETTER = (
    "ANTÉCÉDENTS FAMILIAUX :\n"
    "Mère : cancer du sein à 64 ans.\n"
    "Grand-mère maternelle suivie pour un cancer du côlon.\n"
    "Père : infarctus du myocarde à 60 ans.\n"
)


def _family(text: str, language: str = "fr") -> dict[str, tuple[str, ...]]:
    return {s.text: s.relatives for s in split_by_context(text, language) if s.status is ContextStatus.FAMILY
            and s.text.strip(".;: ")}


def test_a_family_mention_names_its_relative() -> None:
    assert _family(LETTER) == {
        "ANTÉCÉDENTS FAMILIAUX": (),
        "Mère : cancer du sein à 64 ans": ("mother",),
        "Grand-mère maternelle suivie pour un cancer du côlon": ("grandmother",),
        "Père : infarctus du myocarde à 60 ans": ("father",),
    }
    assert _family("Cancer du sein chez la mère.") == {"Cancer du sein chez la mère": ("mother",)}
    assert _family("Antécédents familiaux de diabète.") == {"Antécédents familiaux de diabète": ()}  # whose: not said
    assert _family("Family history: mother with breast cancer; father had a stroke.", "en") == {
        "Family history": (), "mother with breast cancer": ("mother",), "father had a stroke": ("father",)}


def test_stored_mentions_keep_the_relative() -> None:
    index = mention_index(LETTER, "fr")
    at = LETTER.index("cancer du sein")
    assert mention_status_at(index, at, at + len("cancer du sein"))[1] == "family:mother"
    assert mention_at(index, at, at + 3)[1] is ContextStatus.FAMILY  # the status alone, as before
    at = LETTER.index("infarctus")
    assert mention_status_at(index, at, at + 9)[1] == "family:father"


@pytest.mark.parametrize(("query", "relatives", "family"), [
    ("cancer du sein chez la mère", ("mother",), ["cancer du sein"]),
    ("antécédents familiaux : père", ("father",), None),
    ("mother with breast cancer", ("mother",), ["breast cancer"]),
    ("diabète, sœur atteinte de cancer du sein", ("sister",), ["atteinte de cancer du sein"]),
    ("antécédents familiaux de cancer du sein", (), ["cancer du sein"]),
    ("family history of stroke", (), ["stroke"]),
    ("cancer du sein", (), []),
    # the relative after the disease, whatever the article (config.after_relatives): these read as the
    # patient's own disease when only « chez la mère » / "in his mother" were listed
    ("embolie pulmonaire chez le frère", ("brother",), ["embolie pulmonaire"]),
    ("hémorragie méningée chez l'oncle", ("uncle",), ["hémorragie méningée"]),
    ("breast cancer in the mother", ("mother",), ["breast cancer"]),
    ("type 2 diabetes in a brother", ("brother",), ["type 2 diabetes"]),
])
def test_a_query_names_the_relatives_it_asks_about(query: str, relatives: tuple[str, ...], family: list[str] | None) -> None:
    parsed = parse_clinical_query(query)
    assert family_relatives(parsed) == relatives
    if family is not None:
        assert family_parts(parsed)[1] == family


def test_which_mentions_answer_a_query_about_a_relative() -> None:
    assert not relatives_match(("father",), ("mother",))
    assert relatives_match(("mother",), ("mother",)) and relatives_match(("mother",), ("mother", "sister"))
    assert relatives_match(("brother",), ("siblings",)) and relatives_match(("siblings",), ("sister",))
    assert relatives_match(("parents",), ("father",))
    assert relatives_match((), ("mother",)) and relatives_match(("mother",), ())  # nothing said: no restriction


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, encoder) -> TestClient:  # noqa: ANN001
    root = tmp_path_factory.mktemp("family")
    corpus = root / "exports"
    corpus.mkdir()
    (corpus / "letter.txt").write_text(
        f"Examen : Consultation de cardiologie\nIPP : P710001\nService : Cardiologie\nDate : 12/03/2024\n\n"
        f"Douleur thoracique atypique.\n\n{LETTER}", encoding="utf-8")
    return site_over(root, corpus, encoder)


def test_results_and_the_portal_say_whose_history(site: TestClient) -> None:
    """« antécédents familiaux de cancer du sein »: the result's mention is the mother's; the API says so
    next to its context (values unchanged: « family »), the portal's label reads « antécédent familial (mère) »."""
    from ui import render
    from ui.client import SearchHit

    body = site.get("/search", params={"q": "antécédents familiaux de cancer du sein", "mode": "lexical"}, headers=DR).json()
    [hit] = body["results"]
    assert (hit["context"], hit["relatives"]) == ("family", ["mother"])
    assert "antécédent familial (mère)</span>" in render.result_card_html(SearchHit.from_json(hit), 1)
    father = site.get("/search", params={"q": "antécédents familiaux d'infarctus du myocarde", "mode": "lexical"}, headers=DR).json()
    assert [(h["context"], h["relatives"]) for h in father["results"]] == [("family", ["father"])]
    timeline = site.get("/patients/P710001/timeline", params={"q": "antécédents familiaux de cancer du sein"}, headers=DR).json()
    [entry] = [e for g in timeline["groups"] for e in g["entries"] if e["matched"]]
    assert (entry["context"], entry["relatives"]) == ("family", ["mother"])
    assert "antécédent familial (mère)" in render.timeline_entry_html(entry)


@pytest.fixture(scope="module")
def relatives_site(tmp_path_factory: pytest.TempPathFactory, encoder) -> TestClient:  # noqa: ANN001
    """Three patients' letters with breast cancer: the mother's, the father's, the patient's own."""
    root = tmp_path_factory.mktemp("relatives")
    corpus = root / "exports"
    corpus.mkdir()
    for n, family in enumerate(("Mère : cancer du sein à 64 ans.", "Père : cancer du sein à 70 ans.",
                                "Pas d'antécédent familial notable.")):
        own = "Cancer du sein opéré en 2019." if n == 2 else "Douleur thoracique atypique."
        (corpus / f"letter{n}.txt").write_text(
            f"Examen : Consultation de cardiologie\nIPP : P71100{n}\nService : Cardiologie\nDate : 12/03/2024\n\n"
            f"{own}\n\nANTÉCÉDENTS FAMILIAUX :\n{family}\n", encoding="utf-8")
    return site_over(root, corpus, encoder)


@pytest.mark.parametrize(("query", "patients"), [
    ("cancer du sein chez la mère", ["P711000"]),
    ("cancer du sein chez le père", ["P711001"]),
    ("mother with breast cancer", ["P711000"]),
    ("antécédents familiaux de cancer du sein", ["P711000", "P711001"]),  # no relative named: both
])
@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_a_search_naming_a_relative_counts_only_that_relatives_mentions(relatives_site: TestClient, query: str,
                                                                        patients: list[str], mode: str) -> None:
    """« cancer du sein chez la mère » found the father's breast cancer too (and counted it): the
    restriction is inside retrieval, so results, ``total``, ``total_patients`` and /search/patients agree."""
    body = relatives_site.get("/search", params={"q": query, "mode": mode}, headers=DR).json()
    assert sorted(h["patient_id"] for h in body["results"]) == patients
    assert (body["total"], body["total_patients"]) == (len(patients), len(patients))
    grouped = relatives_site.get("/search/patients", params={"q": query, "mode": mode}, headers=DR).json()
    assert sorted(p["patient_id"] for p in grouped["patients"]) == patients
    assert (grouped["total"], grouped["total_patients"]) == (len(patients), len(patients))
    if len(patients) == 1:
        assert body["results"][0]["relatives"] == (["mother"] if "P711000" in patients else ["father"])


@pytest.mark.parametrize(("query", "patients"), [
    ("cancer du sein chez la mère", ["P711000"]),
    ("cancer du sein chez le père", ["P711001"]),
])
def test_a_cohort_criterion_naming_a_relative(relatives_site: TestClient, query: str, patients: list[str]) -> None:
    """Cohorts run the same retrieval: the father's breast cancer does not put his child in « chez la mère »."""
    body = relatives_site.post("/cohorts/evaluate", json={"criteria": [{"q": query}]}, headers=DR).json()
    assert [p["patient_id"] for p in body["patients"]] == patients and body["total"] == len(patients)


def test_a_relative_named_after_the_disease_in_a_document() -> None:
    """The same grammar in letters: « Embolie pulmonaire chez le frère. » is the brother's history, not the
    patient's (it was affirmed: the patient's own pulmonary embolism)."""
    assert _family("Embolie pulmonaire chez le frère.") == {"Embolie pulmonaire chez le frère": ("brother",)}
    assert _family("Breast cancer in the mother.", "en") == {"Breast cancer in the mother": ("mother",)}
