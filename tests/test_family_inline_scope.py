"""An inline relative mention outside a family-history section — "Mother with breast cancer.", « Mère avec
cancer du sein », "Mother who had breast cancer at 45" — puts the disease in the family field, not in the
patient's own. Before: the general terminations (with / who / which / « avec ») ended every cue's scope,
the family cues included, so the scope of "mother" stopped before the disease and a breast-cancer cohort
returned patients whose mother had it. Those connectors attach an attribute to the relative: the trigger
file lists them as ``family_connectors`` (terminations that end negation and hypothesis scopes only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_support import engine_over_reports
from indexer.clinical.config import load_context_config
from indexer.clinical.context import ContextStatus
from search_api.models import SearchRequest
from test_clinical_context import status_of

AFF, NEG, HYP, FAM = (ContextStatus.AFFIRMED, ContextStatus.NEGATED, ContextStatus.HYPOTHETICAL,
                      ContextStatus.FAMILY)



@pytest.mark.parametrize(("text", "phrase", "language"), [
    ("Mother with breast cancer.", "breast cancer", "en"),
    ("Mother who had breast cancer at 45.", "breast cancer", "en"),
    ("Father, who had a myocardial infarction at 50, died at 62.", "myocardial infarction", "en"),
    ("Sister with type 1 diabetes.", "diabetes", "en"),
    ("Maternal aunt with ovarian cancer, which was diagnosed at 40.", "ovarian cancer", "en"),
    ("Grandfather with colon cancer which recurred.", "colon cancer", "en"),
    ("Mère avec cancer du sein.", "cancer du sein", "fr"),
    ("Son père, qui a fait un infarctus à 50 ans, est décédé.", "infarctus", "fr"),
    ("Père qui a fait un infarctus.", "infarctus", "fr"),
    ("Mère atteinte d'un cancer du sein.", "cancer du sein", "fr"),
    ("Sœur avec diabète de type 1.", "diabète", "fr"),
    ("Frère ayant eu un cancer du côlon.", "cancer du côlon", "fr"),
])
def test_a_relative_with_a_disease_is_family(text: str, phrase: str, language: str) -> None:
    assert status_of(text, phrase, language) is FAM


@pytest.mark.parametrize(("text", "phrase", "language"), [
    ("Patient with breast cancer.", "breast cancer", "en"),
    ("The patient, who has breast cancer, is admitted for chemotherapy.", "breast cancer", "en"),
    ("Mother present at the consultation; the patient has breast cancer.", "breast cancer", "en"),
    ("Mother with diabetes, patient with breast cancer.", "breast cancer", "en"),
    ("Breast cancer diagnosed in 2019; her mother is healthy.", "Breast cancer", "en"),
    ("Patiente avec cancer du sein.", "cancer du sein", "fr"),
    ("Patiente qui a un cancer du sein.", "cancer du sein", "fr"),
    ("Mère présente à la consultation ; la patiente a un cancer du sein.", "cancer du sein", "fr"),
    ("Mère diabétique, la patiente a un cancer du sein.", "cancer du sein", "fr"),
    ("Cancer du sein diagnostiqué en 2019, sa mère est en bonne santé.", "Cancer du sein", "fr"),
    # a relative who accompanies the patient (pseudo-triggers « avec sa mère », "with her mother"...)
    ("La patiente, avec sa mère, présente un cancer du sein.", "cancer du sein", "fr"),
    ("La patiente vient avec sa mère pour un cancer du sein.", "cancer du sein", "fr"),
    ("Patiente accompagnée de sa fille pour une dyspnée.", "dyspnée", "fr"),
    ("The patient came in with her mother for breast cancer follow-up.", "breast cancer", "en"),
    ("Accompanied by his son for chest pain.", "chest pain", "en"),
])
def test_the_patients_own_disease_stays_affirmed(text: str, phrase: str, language: str) -> None:
    assert status_of(text, phrase, language) is AFF


@pytest.mark.parametrize(("text", "phrase", "language", "expected"), [
    ("Accompanied by her mother, who reports chest pain since yesterday.", "chest pain", "en", AFF),
    ("Venue avec sa mère, qui rapporte une douleur thoracique depuis hier.", "douleur thoracique", "fr", AFF),
    ("Mother with no history of cancer.", "cancer", "en", NEG),  # negation still wins over family
    ("Mère sans antécédent de cancer.", "cancer", "fr", NEG),
])
def test_reporting_relatives_and_negated_relatives(text: str, phrase: str, language: str,
                                                   expected: ContextStatus) -> None:
    assert status_of(text, phrase, language) is expected


@pytest.mark.parametrize(("text", "phrase", "language", "expected"), [
    # negation and hypothesis scopes still end at with / which / who / « avec »
    ("No pneumothorax, with a small pleural effusion.", "pleural effusion", "en", AFF),
    ("No fever which could explain the tachycardia.", "tachycardia", "en", AFF),
    ("Pas de fièvre avec une toux productive.", "toux productive", "fr", AFF),
    ("Suspicion of pneumonia with pleural effusion.", "pleural effusion", "en", AFF),
    ("Suspicion de pneumopathie avec épanchement pleural.", "épanchement pleural", "fr", AFF),
])
def test_negation_and_hypothesis_scopes_still_end_at_connectors(text: str, phrase: str, language: str,
                                                                expected: ContextStatus) -> None:
    assert status_of(text, phrase, language) is expected


def test_connectors_are_terminations_of_the_same_language(tmp_path: Path) -> None:
    config = load_context_config()
    for code, rules in config.languages.items():
        connectors = [r for r in rules.rules.values() if r.role == "termination" and not r.ends_family]
        assert connectors, code  # both languages list some: FR and EN stay symmetric
    bad = tmp_path / "bad.yaml"
    bad.write_text('languages:\n  en:\n    terminations: ["but"]\n    family_connectors: ["with"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="with"):
        load_context_config(bad)


REPORTS = {
    "FAM_EN": "Mother with breast cancer. Lungs are clear.",
    "FAM_EN2": "Mother who had breast cancer at 45. No pleural effusion.",
    "OWN_EN": "Patient with breast cancer. Lungs are clear.",
    "FAM_FR": "Mère avec cancer du sein. Poumons clairs.",
    "OWN_FR": "Patiente avec cancer du sein. Poumons clairs.",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return engine_over_reports(tmp_path_factory.mktemp("family_inline"), REPORTS)


def _search(engine, q: str, **options):  # noqa: ANN001, ANN003, ANN202
    response = engine.search(SearchRequest(q=q, limit=10, **options))
    names = [r.id.rsplit("/", 1)[-1].removesuffix(".txt").removeprefix("report:") for r in response.results]
    return response, names


@pytest.mark.parametrize("options", [{}, {"mode": "lexical"}], ids=["default", "lexical"])
@pytest.mark.parametrize(("q", "own", "family"), [
    ("breast cancer", {"OWN_EN", "OWN_FR"}, {"FAM_EN", "FAM_EN2", "FAM_FR"}),
    ("cancer du sein", {"OWN_EN", "OWN_FR"}, {"FAM_EN", "FAM_EN2", "FAM_FR"}),
])
def test_a_search_for_the_disease_does_not_return_the_mothers_as_the_patients_own(
    engine, q: str, own: set[str], family: set[str], options: dict  # noqa: ANN001
) -> None:
    response, names = _search(engine, q, **options)
    assert response.total == len(own)  # the cohort count: the patients' own cancers only
    assert set(names[: len(own)]) == own
    for result, name in zip(response.results, names, strict=True):
        assert name in own or result.context == "family", (name, result.context)  # never as the patient's own


def test_the_family_documents_are_found_when_asked(engine) -> None:  # noqa: ANN001
    _, names = _search(engine, "breast cancer", mode="lexical", include_family=True)
    assert {"FAM_EN", "FAM_EN2", "OWN_EN"} <= set(names)
    _, names = _search(engine, "mother with breast cancer", mode="lexical")
    assert names and names[0].startswith("FAM_") and not {"OWN_EN", "OWN_FR"} & set(names)
