"""Context detection (negation, hypothesis, family) on real report sentences, French and English."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from pydantic import ValidationError

from indexer.clinical.config import load_context_config
from indexer.clinical.context import (
    ContextStatus,
    find_triggers,
    group_by_status,
    mention_context,
    split_by_context,
    status_at,
)
from indexer.clinical.sentences import sentences

AFF, NEG, HYP, FAM = (
    ContextStatus.AFFIRMED,
    ContextStatus.NEGATED,
    ContextStatus.HYPOTHETICAL,
    ContextStatus.FAMILY,
)


def status_of(text: str, phrase: str, language: str | None = None) -> ContextStatus:
    """Status of the first occurrence of ``phrase`` in ``text``."""
    start = text.index(phrase)
    return status_at(split_by_context(text, language), start, start + len(phrase))


def labelled(text: str, language: str | None = None) -> list[tuple[str, str]]:
    """Non-blank spans as (stripped text, status), punctuation-only spans dropped."""
    return [
        (span.text.strip(), span.status.value)
        for span in split_by_context(text, language)
        if any(c.isalnum() for c in span.text)
    ]


# ---------------------------------------------------------------- the brief's reference sentences


def test_trigger_scope_ends_at_mais() -> None:
    spans = split_by_context("pas de fracture mais une luxation")
    assert [(s.start, s.end, s.text, s.status) for s in spans] == [
        (0, 15, "pas de fracture", NEG),
        (15, 33, " mais une luxation", AFF),
    ]
    assert spans[0].trigger == "pas de"


def test_scope_ends_at_sentence_boundary() -> None:
    text = "Absence d'épanchement pleural. Pneumothorax droit."
    assert labelled(text) == [("Absence d'épanchement pleural", "negated"), (". Pneumothorax droit.", "affirmed")]


def test_family_member_trigger() -> None:
    assert labelled("mère décédée d'un AVC") == [("mère décédée d'un AVC", "family")]


def test_english_negation_then_affirmed_sentence() -> None:
    text = "No pneumothorax. Small left pleural effusion."
    assert labelled(text, "en") == [("No pneumothorax", "negated"), (". Small left pleural effusion.", "affirmed")]
    assert labelled(text) == labelled(text, "en")  # language guessed from the text


def test_suspicion_is_hypothetical() -> None:
    assert labelled("suspicion d'embolie pulmonaire") == [("suspicion d'embolie pulmonaire", "hypothetical")]


# ---------------------------------------------------------------- coverage of the whole text


@pytest.mark.parametrize(
    "text",
    [
        "pas de fracture mais une luxation",
        "IPP : 123\nTitre : Scanner thoracique\n\nConclusion :\n- Pas d'embolie pulmonaire.\n- Nodule de 3,5 mm.\n",
        "Family history of colon cancer. The patient denies chest pain.",
        "",
        "   \n\n",
        "Œdème pulmonaire ; sœur asthmatique.",
    ],
)
def test_spans_cover_the_text_exactly(text: str) -> None:
    spans = split_by_context(text)
    assert "".join(s.text for s in spans) == text
    assert all(a.end == b.start for a, b in pairwise(spans))
    assert all(text[s.start : s.end] == s.text for s in spans)
    if spans:
        assert spans[0].start == 0 and spans[-1].end == len(text)


# ---------------------------------------------------------------- case, accents, elision


@pytest.mark.parametrize(
    "text",
    [
        "ABSENCE D'EPANCHEMENT PLEURAL",
        "absence d’épanchement pleural",  # typographic apostrophe
        "Absence d épanchement pleural",
        "PAS D'EPANCHEMENT PLEURAL",
        "Sans épanchement pleural",
    ],
)
def test_triggers_ignore_case_accents_and_apostrophes(text: str) -> None:
    assert status_of(text, "PLEURAL" if "PLEURAL" in text else "pleural") is NEG


def test_offsets_stay_exact_when_folding_changes_length() -> None:
    text = "Sœur : pas d'œdème. Œdème des membres inférieurs."
    spans = split_by_context(text, "fr")
    assert "".join(s.text for s in spans) == text
    assert status_of(text, "pas d'œdème") is NEG
    assert status_of(text, "membres inférieurs") is AFF


def test_trigger_must_be_a_whole_word() -> None:
    assert status_of("The patient knows the diagnosis of pneumonia.", "pneumonia", "en") is AFF
    assert status_of("Nodule sansonnet du lobe inférieur.", "Nodule", "fr") is AFF


# ---------------------------------------------------------------- pseudo-triggers and terminations


@pytest.mark.parametrize(
    ("text", "phrase", "language"),
    [
        ("Pas de changement de la fracture du radius.", "fracture du radius", "fr"),
        ("Sans modification de l'épanchement pleural.", "épanchement pleural", "fr"),
        ("Not only pneumonia but also effusion.", "pneumonia", "en"),
        ("No change in the size of the pleural effusion.", "pleural effusion", "en"),
        ("Cancer du sein triple négatif.", "Cancer du sein", "fr"),
        ("Gram negative bacteremia.", "bacteremia", "en"),
    ],
)
def test_pseudo_triggers_do_not_negate(text: str, phrase: str, language: str) -> None:
    assert status_of(text, phrase, language) is AFF


@pytest.mark.parametrize(
    ("text", "negated", "affirmed", "language"),
    [
        ("No fracture but a dislocation of the shoulder.", "fracture", "dislocation", "en"),
        ("Pas de fièvre ; toux productive.", "fièvre", "toux", "fr"),
        ("Pas de fracture, cependant luxation de l'épaule.", "fracture", "luxation", "fr"),
        ("No pleural effusion, however there is a small pneumothorax.", "pleural effusion", "pneumothorax", "en"),
        ("Pas de fracture. Luxation de l'épaule.", "fracture", "Luxation", "fr"),
    ],
)
def test_terminations_and_sentences_end_scope(text: str, negated: str, affirmed: str, language: str) -> None:
    assert status_of(text, negated, language) is NEG
    assert status_of(text, affirmed, language) is AFF


def test_negation_scope_covers_a_list() -> None:
    text = "Pas de fièvre, de toux ni de dyspnée. Douleur thoracique."
    assert [status_of(text, w) for w in ("fièvre", "toux", "dyspnée", "Douleur")] == [NEG, NEG, NEG, AFF]


# ---------------------------------------------------------------- post triggers and hypotheses


@pytest.mark.parametrize(
    ("text", "phrase", "expected", "language"),
    [
        ("Embolie pulmonaire éliminée.", "Embolie pulmonaire", NEG, "fr"),
        ("Fracture du col fémoral non retrouvée.", "col fémoral", NEG, "fr"),
        ("Pneumothorax : non", "Pneumothorax", NEG, "fr"),
        ("Pulmonary embolism was ruled out.", "Pulmonary embolism", NEG, "en"),
        ("Pneumonia cannot be ruled out.", "Pneumonia", HYP, "en"),
        ("Pneumonia cannot be completely excluded.", "Pneumonia", HYP, "en"),
        ("Une pneumopathie n'est pas formellement exclue.", "pneumopathie", HYP, "fr"),
        ("Un pneumothorax n'est pas exclu.", "pneumothorax", HYP, "fr"),
        ("Pneumothorax exclu.", "Pneumothorax", NEG, "fr"),
        ("L'angioscanner a permis d'éliminer une embolie pulmonaire.", "embolie pulmonaire", NEG, "fr"),
        ("Recherche d'embolie pulmonaire.", "embolie pulmonaire", HYP, "fr"),
        ("Embolie pulmonaire ?", "Embolie pulmonaire", HYP, "fr"),
        ("Embolie pulmonaire à éliminer.", "Embolie pulmonaire", HYP, "fr"),
        ("Image évoquant une métastase hépatique.", "métastase hépatique", HYP, "fr"),
        ("Pneumopathie possible du lobe inférieur droit.", "Pneumopathie", HYP, "fr"),
        ("Possible pneumonia in the left lower lobe.", "pneumonia", HYP, "en"),
        ("Suspected pulmonary embolism.", "pulmonary embolism", HYP, "en"),
        ("Rule out pulmonary embolism.", "pulmonary embolism", HYP, "en"),
        ("Negative for malignancy.", "malignancy", NEG, "en"),
        ("The patient is free of pain.", "pain", NEG, "en"),
        # Open-i: « clear of » (69 of its 3,927 reports) was not a trigger, so the findings it lists were affirmed
        ("The lungs are clear of focal airspace disease, pneumothorax, or pleural effusion.", "pneumothorax", NEG, "en"),
        ("The lungs are clear of focal airspace disease, pneumothorax, or pleural effusion.", "pleural effusion", NEG, "en"),
        ("The lungs are clear. Right pneumothorax.", "pneumothorax", AFF, "en"),
        ("Le patient ne présente pas de signe d'insuffisance cardiaque.", "insuffisance cardiaque", NEG, "fr"),
    ],
)
def test_statuses(text: str, phrase: str, expected: ContextStatus, language: str) -> None:
    assert status_of(text, phrase, language) is expected


def test_colon_trigger_only_ends_a_clause() -> None:
    text = "Chest X-ray on 2022-10-20: No pleural effusion. Right lower lobe pneumonia."
    assert status_of(text, "Chest X-ray", "en") is AFF
    assert status_of(text, "pleural effusion", "en") is NEG
    assert status_of(text, "pneumonia", "en") is AFF
    assert status_of("Pleural effusion: no.", "Pleural effusion", "en") is NEG


def test_sequestered_disc_is_not_a_negation() -> None:
    text = "Exérèse d'une volumineuse hernie discale exclue."
    assert status_of(text, "hernie discale") is AFF


def test_post_trigger_scope_stops_at_comma() -> None:
    text = "Embolie pulmonaire éliminée, pneumopathie du lobe inférieur droit."
    assert status_of(text, "Embolie pulmonaire") is NEG
    assert status_of(text, "pneumopathie") is AFF
    text = "Pulmonary embolism was ruled out, pneumonia in the right lower lobe."
    assert status_of(text, "pneumonia", "en") is AFF


def test_both_direction_trigger_does_not_leak_past_comma() -> None:
    text = "Pneumopathie probable du lobe inférieur gauche, pas d'épanchement, fracture costale."
    assert status_of(text, "Pneumopathie") is HYP
    assert status_of(text, "épanchement") is NEG


def test_next_trigger_starts_its_own_scope() -> None:
    text = "Pas de fièvre, suspicion de pneumonie."
    assert status_of(text, "fièvre") is NEG
    assert status_of(text, "pneumonie") is HYP


# ---------------------------------------------------------------- family


def test_family_section_makes_its_block_family() -> None:
    text = (
        "Antécédents familiaux :\n"
        "Mère : cancer du sein.\n"
        "- Père : IDM à 50 ans\n"
        "\n"
        "Le patient présente une dyspnée d'effort."
    )
    assert status_of(text, "cancer du sein") is FAM
    assert status_of(text, "IDM") is FAM
    assert status_of(text, "dyspnée") is AFF


def test_family_section_ends_at_next_heading() -> None:
    text = "ANTÉCÉDENTS FAMILIAUX\nDiabète de type 2.\nANTÉCÉDENTS PERSONNELS\nHTA traitée."
    assert status_of(text, "Diabète") is FAM
    assert status_of(text, "HTA") is AFF


def test_negation_wins_over_family_when_chained() -> None:
    assert status_of("Pas d'antécédent familial de cancer.", "cancer") is NEG
    assert status_of("No family history of colon cancer.", "colon cancer", "en") is NEG


def test_english_family_and_patient_negation() -> None:
    text = "Family history of colon cancer. The patient denies chest pain."
    assert labelled(text, "en") == [
        ("Family history of colon cancer", "family"),
        (". The patient", "affirmed"),
        ("denies chest pain", "negated"),
    ]


def test_family_scope_ends_at_patient_words() -> None:
    text = "Patiente de 45 ans, mère de 3 enfants, consulte pour douleur thoracique."
    assert status_of(text, "douleur thoracique") is AFF
    assert status_of(text, "Patiente") is AFF


def test_diabetes_in_the_mother_is_family() -> None:
    assert status_of("Diabète de type 2 chez la mère.", "Diabète") is FAM
    assert status_of("Her mother had breast cancer.", "breast cancer", "en") is FAM


# ---------------------------------------------------------------- sentence splitting


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Vu par le Dr. Martin. Pas de fracture.", ["Vu par le Dr. Martin.", "Pas de fracture."]),
        ("Signs of infection, e.g. fever. Second sentence.", ["Signs of infection, e.g. fever.", "Second sentence."]),
        ("Nodule de 3,5 cm. Nodule de 3.5 cm. Fin.", ["Nodule de 3,5 cm.", "Nodule de 3.5 cm.", "Fin."]),
        ("Conclusion :\nPas de fracture.", ["Conclusion :", "Pas de fracture."]),
        ("CONCLUSION : pas de fracture.", ["CONCLUSION :", "pas de fracture."]),
        ("## Findings\nNo effusion.", ["## Findings", "No effusion."]),
        ("- pas de fracture\n- luxation\n* entorse", ["pas de fracture", "luxation", "entorse"]),
        ("Nodule du lobe\nsupérieur droit.", ["Nodule du lobe\nsupérieur droit."]),
        ("Pneumothorax : non", ["Pneumothorax : non"]),
        ("Embolie pulmonaire ? Pas de fièvre.", ["Embolie pulmonaire ?", "Pas de fièvre."]),
        ("Voir www.chu-exemple.fr pour le protocole.", ["Voir www.chu-exemple.fr pour le protocole."]),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


def test_heading_does_not_swallow_the_scope_of_the_next_line() -> None:
    text = "Conclusion :\nAbsence de fracture.\nLuxation antérieure de l'épaule."
    assert status_of(text, "fracture") is NEG
    assert status_of(text, "Luxation") is AFF


# ---------------------------------------------------------------- helpers and configuration


def test_group_by_status_gives_one_field_per_status() -> None:
    text = "Pas de fracture mais une luxation. Suspicion d'entorse. Mère diabétique."
    fields = group_by_status(split_by_context(text, "fr"))
    assert fields[NEG] == "Pas de fracture"
    assert fields[HYP] == "Suspicion d'entorse"
    assert fields[FAM] == "Mère diabétique"
    assert "luxation" in fields[AFF] and "fracture" not in fields[AFF]


def test_find_triggers_reports_roles() -> None:
    found = find_triggers("Pas de changement. No fracture but pain.", "en")
    assert [(m.text, m.role) for m in found] == [("No", "trigger"), ("but", "termination")]
    found = find_triggers("Pas de changement de la fracture mais luxation.", "fr")
    assert [(m.text, m.role) for m in found] == [("Pas de changement", "pseudo"), ("mais", "termination")]


def test_contradictory_trigger_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        'languages:\n  fr:\n    negated: {pre: ["sans"]}\n    hypothetical: {pre: ["sans"]}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match="'sans'"):
        load_context_config(path)


def test_misspelled_key_in_trigger_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('languages:\n  fr:\n    negated: {pre_triggers: ["sans"]}\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="pre_triggers"):
        load_context_config(path)


def test_custom_config_is_used(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text('languages:\n  fr:\n    negated: {pre: ["jamais vu"]}\n', encoding="utf-8")
    text = "Jamais vu de fracture. Pas de luxation."
    spans = split_by_context(text, "fr", config=path)
    assert status_at(spans, text.index("fracture")) is NEG
    assert status_at(spans, text.index("luxation")) is AFF  # "pas de" is not in this config


@pytest.mark.parametrize(
    "text",
    [
        "Antécédents familiaux :\nMère : cancer du sein.\n- Père : IDM à 50 ans\n\nLe patient présente une dyspnée.",
        "Pas d'épanchement pleural. Nodule du lobe supérieur droit ; pas de pneumothorax mais une atélectasie.",
        "Family history of colon cancer. The patient denies chest pain, but reports dyspnea. Rule out embolism.",
        "CONCLUSION\nEmbolie pulmonaire éliminée. Pneumopathie possible du lobe inférieur droit ?",
    ],
)
def test_mention_context_equals_the_whole_text_analysis(text: str) -> None:
    """The snippet's one-sentence shortcut gives the status and sentence the full analysis gives."""
    spans = split_by_context(text)
    sentence_spans = sentences(text)
    for word in re.finditer(r"\w+", text):
        start, status = mention_context(text, word.start(), word.end())
        assert status is status_at(spans, word.start(), word.end()), word.group()
        assert start == next(s for s, e in sentence_spans if s <= word.start() < e), word.group()


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        # a diagnosis not kept / set aside: negated (« n' » expands to « ne », the cue is « pas retenu »)
        ("Un AVC ischémique n'est pas retenu.", "AVC ischémique", NEG),
        ("Le diagnostic de pneumopathie n'a pas été retenu.", "pneumopathie", NEG),
        ("Diagnostic d'embolie pulmonaire non retenu.", "embolie pulmonaire", NEG),
        ("Hypothèses de méningite non retenues au vu de la ponction lombaire.", "ponction", AFF),
        ("Embolie pulmonaire écartée.", "Embolie pulmonaire", NEG),
        ("Une dissection aortique a été écartée.", "dissection aortique", NEG),
        # … but « pas écarté » is a doubt, and « retenu » alone keeps the diagnosis
        ("Une dissection aortique n'est pas écartée.", "dissection aortique", HYP),
        ("Le diagnostic retenu est celui de pneumopathie.", "pneumopathie", AFF),
        # the « (pouvant / pourrait / peut) faire + verb » family and its relatives: hypothetical
        ("Aspect pouvant faire évoquer un AVC ischémique, à confronter aux données cliniques.", "AVC ischémique", HYP),
        ("Image pouvant faire discuter une lésion secondaire.", "lésion secondaire", HYP),
        ("Aspect pourrait faire craindre une récidive tumorale.", "récidive tumorale", HYP),
        ("Opacité faisant discuter une pneumopathie.", "pneumopathie", HYP),
        ("Hypodensité pouvant témoigner d'une ischémie récente.", "ischémie récente", HYP),
        ("Épaississement pouvant traduire une lymphangite.", "lymphangite", HYP),
        ("Hyperdensité spontanée suggérant un hématome.", "hématome", HYP),
        ("Infiltrat pouvant être en rapport avec une pneumopathie.", "pneumopathie", HYP),
        # the cue's own words are not the finding: « Aspect pouvant faire » is outside the scope
        ("Aspect pouvant faire évoquer un méningiome.", "Aspect", AFF),
        # the sentence after the cue's is read on its own
        ("Aspect pouvant faire évoquer un méningiome. Hématome sous-dural chronique.", "Hématome", AFF),
    ],
)
def test_not_kept_and_could_suggest_families(text: str, phrase: str, expected: ContextStatus) -> None:
    assert status_of(text, phrase, "fr") is expected
