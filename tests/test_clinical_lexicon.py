"""Bilingual lexicon: loading, validation, query expansion, ambiguous abbreviations, typos."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from indexer.clinical.lexicon import Lexicon, LexiconError, load_default_lexicon


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_default_lexicon()


def concepts_of(lexicon: Lexicon, query: str, fuzzy: bool = True) -> list[str]:
    return [t.concept_id for t in lexicon.expand_query(query, fuzzy=fuzzy).expanded_terms]


# ---------------------------------------------------------------- the shipped file


def test_default_lexicon_is_large_and_covers_the_specialties(lexicon: Lexicon) -> None:
    assert len(lexicon) >= 250
    domains = Counter(c.domain.value for c in lexicon.concepts.values())
    for domain in (
        "cardiology",
        "neurology",
        "pneumology",
        "oncology",
        "orthopaedics",
        "radiology",
        "digestive",
        "nephrology",
        "endocrinology",
    ):
        assert domains[domain] >= 10, domain


@pytest.mark.parametrize(
    ("abbreviation", "concept"),
    [
        ("HTA", "hypertension"),
        ("IDM", "myocardial_infarction"),
        ("AVC", "stroke"),
        ("BPCO", "copd"),
        ("TVP", "deep_vein_thrombosis"),
        ("IRM", "mri"),
        ("TDM", "ct_scan"),
        ("SCA", "acute_coronary_syndrome"),
        ("FA", "atrial_fibrillation"),
        ("ICC", "heart_failure"),
        ("MI", "myocardial_infarction"),
        ("COPD", "copd"),
        ("DVT", "deep_vein_thrombosis"),
        ("CT", "ct_scan"),
        ("MRI", "mri"),
        ("idm", "myocardial_infarction"),  # physicians type in lower case too
    ],
)
def test_unambiguous_abbreviations(lexicon: Lexicon, abbreviation: str, concept: str) -> None:
    expansion = lexicon.expand_query(abbreviation)
    assert [(t.concept_id, t.ambiguous, t.matched_by) for t in expansion.expanded_terms] == [
        (concept, False, "abbreviation")
    ]


def test_idm_expands_to_french_and_english_terms(lexicon: Lexicon) -> None:
    expansion = lexicon.expand_query("IDM")
    assert "infarctus du myocarde" in expansion.extra_phrases
    assert "myocardial infarction" in expansion.extra_phrases
    assert "MI" in expansion.extra_phrases
    assert "IDM" not in expansion.extra_phrases  # already in the query


# ---------------------------------------------------------------- ambiguity is never resolved silently


@pytest.mark.parametrize(
    ("abbreviation", "senses"),
    [
        ("IR", {"renal_failure", "respiratory_failure"}),
        ("IRA", {"acute_kidney_injury", "acute_respiratory_failure"}),
        ("IC", {"heart_failure", "coronary_artery_disease"}),
        ("EP", {"pulmonary_embolism", "pleural_effusion"}),
        ("PE", {"pulmonary_embolism", "pleural_effusion"}),
    ],
)
def test_ambiguous_abbreviations_expand_to_every_sense_and_are_flagged(
    lexicon: Lexicon, abbreviation: str, senses: set[str]
) -> None:
    expansion = lexicon.expand_query(f"patient avec {abbreviation}")
    terms = expansion.expanded_terms
    assert {t.concept_id for t in terms} == senses
    assert all(t.ambiguous and t.source_text == abbreviation for t in terms)
    for term in terms:
        assert set(term.alternatives) == senses - {term.concept_id}
    assert expansion.ambiguous_sources == [abbreviation]


def test_ir_extra_phrases_cover_both_senses(lexicon: Lexicon) -> None:
    phrases = lexicon.expand_query("IR").extra_phrases
    assert "insuffisance rénale" in phrases
    assert "insuffisance respiratoire" in phrases
    assert "renal failure" in phrases and "respiratory failure" in phrases


def test_ambiguous_abbreviation_is_not_added_when_expanding_a_full_term(lexicon: Lexicon) -> None:
    phrases = lexicon.expand_query("embolie pulmonaire").extra_phrases
    assert "pulmonary embolism" in phrases
    assert "EP" not in phrases and "PE" not in phrases
    assert "IR" not in lexicon.expand_query("insuffisance rénale").extra_phrases


def test_protected_abbreviation_needs_capitals(lexicon: Lexicon) -> None:
    assert concepts_of(lexicon, "as seen in the AS") == ["aortic_stenosis"]
    assert concepts_of(lexicon, "same as before") == []


# ---------------------------------------------------------------- matching


def test_longest_multiword_match_wins(lexicon: Lexicon) -> None:
    assert concepts_of(lexicon, "insuffisance rénale aiguë") == ["acute_kidney_injury"]
    assert concepts_of(lexicon, "insuffisance rénale") == ["renal_failure"]
    assert concepts_of(lexicon, "fracture du col du fémur droit") == ["femoral_neck_fracture"]


@pytest.mark.parametrize(
    "query",
    ["épanchement pleural", "EPANCHEMENT PLEURAL", "epanchement pleural", "épanchements pleuraux", "pleural effusion"],
)
def test_case_accents_and_plurals_do_not_matter(lexicon: Lexicon, query: str) -> None:
    assert concepts_of(lexicon, query, fuzzy=False) == ["pleural_effusion"]


def test_listed_misspelling_matches(lexicon: Lexicon) -> None:
    terms = lexicon.expand_query("pneumothorx droit", fuzzy=False).expanded_terms
    assert [(t.concept_id, t.matched_by, t.source_text) for t in terms] == [
        ("pneumothorax", "misspelling", "pneumothorx")
    ]


def test_unlisted_typo_in_a_long_word_is_corrected(lexicon: Lexicon) -> None:
    terms = lexicon.expand_query("épanchemnt pleural").expanded_terms
    assert [(t.concept_id, t.matched_by) for t in terms] == [("pleural_effusion", "fuzzy")]
    assert concepts_of(lexicon, "épanchemnt pleural", fuzzy=False) == []


def test_short_words_are_never_fuzzy_matched(lexicon: Lexicon) -> None:
    assert concepts_of(lexicon, "tous les cas") == []


def test_cross_lingual_expansion(lexicon: Lexicon) -> None:
    assert "infarctus du myocarde" in lexicon.expand_query("heart attack").extra_phrases
    assert "pulmonary embolism" in lexicon.expand_query("embolie pulmonaire").extra_phrases
    assert "accident vasculaire cérébral" in lexicon.expand_query("stroke").extra_phrases


def test_several_concepts_in_one_query(lexicon: Lexicon) -> None:
    expansion = lexicon.expand_query("IDM et HTA sans BPCO")
    assert expansion.concept_ids == ["myocardial_infarction", "hypertension", "copd"]
    assert [(t.start, t.end) for t in expansion.expanded_terms] == [(0, 3), (7, 10), (16, 20)]


def test_find_in_document_text(lexicon: Lexicon) -> None:
    text = "Patient aux antécédents d'HTA et de BPCO, hospitalisé pour une embolie pulmonaire."
    mentions = lexicon.find(text)
    assert [(m.text, m.concept_ids) for m in mentions] == [
        ("HTA", ["hypertension"]),
        ("BPCO", ["copd"]),
        ("embolie pulmonaire", ["pulmonary_embolism"]),
    ]
    assert all(text[m.start : m.end] == m.text for m in mentions)


# ---------------------------------------------------------------- validation errors name the entry


def _concept(concept_id: str, fr: str, en: str, **extra: object) -> dict[str, object]:
    return {"id": concept_id, "domain": "cardiology", "fr": {"preferred": fr}, "en": {"preferred": en}, **extra}


def _write(tmp_path: Path, document: dict[str, object]) -> Path:
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_missing_field_names_the_concept(tmp_path: Path) -> None:
    bad = {"id": "broken_concept", "domain": "cardiology", "fr": {"synonyms": ["x"]}, "en": {"preferred": "y"}}
    path = _write(tmp_path, {"concepts": [_concept("ok", "a", "b"), bad]})
    with pytest.raises(LexiconError, match=r"concept 'broken_concept': fr\.preferred"):
        Lexicon.load(path)


def test_unknown_field_names_the_concept(tmp_path: Path) -> None:
    bad = _concept("typo_concept", "a", "b", synonym=["c"])
    with pytest.raises(LexiconError, match="concept 'typo_concept': synonym"):
        Lexicon.load(_write(tmp_path, {"concepts": [bad]}))


def test_bad_domain_names_the_concept(tmp_path: Path) -> None:
    bad = {**_concept("cardio_x", "a", "b"), "domain": "cardiologie"}
    with pytest.raises(LexiconError, match="concept 'cardio_x': domain"):
        Lexicon.load(_write(tmp_path, {"concepts": [bad]}))


def test_entry_without_id_is_named_by_position(tmp_path: Path) -> None:
    bad = {"domain": "cardiology", "fr": {"preferred": "a"}, "en": {"preferred": "b"}}
    with pytest.raises(LexiconError, match=r"concept #1 \(no id\)"):
        Lexicon.load(_write(tmp_path, {"concepts": [_concept("ok", "c", "d"), bad]}))


def test_duplicate_id(tmp_path: Path) -> None:
    path = _write(tmp_path, {"concepts": [_concept("same", "a", "b"), _concept("same", "c", "d")]})
    with pytest.raises(LexiconError, match="concept 'same': duplicate id"):
        Lexicon.load(path)


def test_term_shared_by_two_concepts(tmp_path: Path) -> None:
    path = _write(tmp_path, {"concepts": [_concept("first", "infarctus", "b"), _concept("second", "Infarctus", "d")]})
    with pytest.raises(LexiconError, match="concept 'second': term 'Infarctus' already belongs to concept 'first'"):
        Lexicon.load(path)


def test_undeclared_shared_abbreviation(tmp_path: Path) -> None:
    renal = _concept("renal", "insuffisance rénale", "renal failure")
    respiratory = _concept("respiratory", "insuffisance respiratoire", "respiratory failure")
    renal["fr"] = {"preferred": "insuffisance rénale", "abbreviations": ["IR"]}
    respiratory["fr"] = {"preferred": "insuffisance respiratoire", "abbreviations": ["IR"]}
    with pytest.raises(LexiconError, match=r"'IR' is shared by concepts \['renal', 'respiratory'\]"):
        Lexicon.load(_write(tmp_path, {"concepts": [renal, respiratory]}))
    loaded = Lexicon.load(_write(tmp_path, {"ambiguous_abbreviations": ["IR"], "concepts": [renal, respiratory]}))
    assert {t.concept_id for t in loaded.expand_query("IR").expanded_terms} == {"renal", "respiratory"}


def test_stale_ambiguous_declaration(tmp_path: Path) -> None:
    path = _write(tmp_path, {"ambiguous_abbreviations": ["XYZ"], "concepts": [_concept("one", "a", "b")]})
    with pytest.raises(LexiconError, match="'XYZ' is not shared"):
        Lexicon.load(path)


# ---------------------------------------------------------------- hierarchy


def test_broader_concept_expands_to_its_narrower_concepts(lexicon: Lexicon) -> None:
    (term,) = lexicon.expand_query("AVC").expanded_terms
    assert term.concept_id == "stroke"
    assert term.narrower == ["ischemic_stroke", "hemorrhagic_stroke"]
    assert "ischemic stroke" in term.terms and "accident vasculaire cérébral ischémique" in term.terms
    assert "fracture du col du fémur" in lexicon.expand_query("fracture").extra_phrases
    # ... but not the other way round
    assert "fracture" not in lexicon.expand_query("fracture du col du fémur").extra_phrases


def test_unknown_broader_concept_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, {"concepts": [_concept("child", "a", "b", broader=["missing_parent"])]})
    with pytest.raises(LexiconError, match="concept 'child': broader concept 'missing_parent' does not exist"):
        Lexicon.load(path)


def test_broader_cycle_is_reported(tmp_path: Path) -> None:
    first = _concept("first", "a", "b", broader=["second"])
    second = _concept("second", "c", "d", broader=["first"])
    with pytest.raises(LexiconError, match="loops back"):
        Lexicon.load(_write(tmp_path, {"concepts": [first, second]}))


# ---------------------------------------------------------------- false friends seen in the demo corpus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr Sébastien MOREL was admitted.", []),  # "Mr" is not mitral regurgitation (MR)
        ("Oxycodone LP 10 mg matin et soir.", []),  # LP = libération prolongée, not lumbar puncture
        ("Body mass index 31 kg/m2.", ["body_mass_index"]),  # not a "mass"
        ("AI-assisted hip radiographs.", ["radiography"]),  # "AI" is not aortic insufficiency
        ("Chute de tension artérielle.", []),  # « chute » is not trauma
        ("Severe MR on echocardiography.", ["mitral_regurgitation", "echocardiography"]),
    ],
)
def test_false_friends(lexicon: Lexicon, text: str, expected: list[str]) -> None:
    found = [cid for mention in lexicon.find(text) for cid in mention.concept_ids]
    assert found == expected


# ---------------------------------------------------------------- the central line as French physicians write it


@pytest.mark.parametrize("query", [
    "voie centrale", "VVC", "vvc", "KTC", "KT central", "cathéter central", "voie veineuse centrale",
    "cathéter veineux central", "CVC", "central line", "right IJ CVC",
])
def test_central_line_forms(lexicon: Lexicon, query: str) -> None:
    """« contrôle post-pose de VVC », « KTC jugulaire », « voie centrale »: one concept, never ambiguous."""
    expansion = lexicon.expand_query(query, fuzzy=False)
    assert expansion.concept_ids == ["central_venous_catheter"]
    assert not expansion.ambiguous_sources


@pytest.mark.parametrize(("text", "expected"), [
    ("Contrôle post-pose de VVC : pas de pneumothorax.", ["central_venous_catheter", "pneumothorax"]),
    ("Pneumothorax droit compliquant la pose du KTC jugulaire.", ["pneumothorax", "central_venous_catheter"]),
    ("Pneumothorax après pose de voie centrale.", ["pneumothorax", "central_venous_catheter"]),
    ("Voie d'abord postéro-latérale.", []),  # « voie » alone is no line
])
def test_central_line_in_report_text(lexicon: Lexicon, text: str, expected: list[str]) -> None:
    assert [cid for mention in lexicon.find(text) for cid in mention.concept_ids] == expected
