"""Query polarity: natural negation cues in French and English, and the explicit NOT: syntax."""

from __future__ import annotations

import pytest

from indexer.clinical.query import parse_clinical_query


@pytest.mark.parametrize(
    ("query", "text", "polarity"),
    [
        ("patients without pleural effusion", "pleural effusion", "negated"),
        ("sans épanchement pleural", "épanchement pleural", "negated"),
        ("pas de fracture", "fracture", "negated"),
        ("Pas d'épanchement", "épanchement", "negated"),
        ("ABSENCE D'EPANCHEMENT PLEURAL", "EPANCHEMENT PLEURAL", "negated"),
        ("no pneumothorax", "pneumothorax", "negated"),
        ("patients with no evidence of pulmonary embolism", "pulmonary embolism", "negated"),
        ("embolie pulmonaire éliminée", "embolie pulmonaire", "negated"),
        ("pulmonary embolism ruled out", "pulmonary embolism", "negated"),
        ("épanchement pleural", "épanchement pleural", "affirmed"),
        ("patients with pneumothorax", "pneumothorax", "affirmed"),
        ("IDM", "IDM", "affirmed"),
        ("pas de changement de la fracture", "pas de changement de la fracture", "affirmed"),
        ("triple negative breast cancer", "triple negative breast cancer", "affirmed"),
    ],
)
def test_polarity(query: str, text: str, polarity: str) -> None:
    parsed = parse_clinical_query(query)
    assert (parsed.text, parsed.polarity) == (text, polarity)
    assert parsed.original == query


def test_negated_list_gives_one_clause_per_finding() -> None:
    parsed = parse_clinical_query("pas de fracture ni de luxation")
    assert parsed.polarity == "negated"
    assert parsed.negated_terms == ["fracture", "luxation"]


def test_mixed_query_keeps_both_parts() -> None:
    parsed = parse_clinical_query("pneumothorax sans épanchement pleural")
    assert parsed.polarity == "affirmed"
    assert parsed.affirmed_terms == ["pneumothorax"]
    assert parsed.negated_terms == ["épanchement pleural"]
    clause = parsed.clauses[1]
    assert parsed.original[clause.start : clause.end] == "épanchement pleural"


def test_termination_splits_clauses() -> None:
    parsed = parse_clinical_query("fracture but no dislocation")
    assert parsed.affirmed_terms == ["fracture"]
    assert parsed.negated_terms == ["dislocation"]


@pytest.mark.parametrize(
    ("query", "affirmed", "negated"),
    [
        ("NOT:pleural effusion", [], ["pleural effusion"]),
        ("not:fracture", [], ["fracture"]),
        ("NOT: épanchement pleural", [], ["épanchement pleural"]),
        ("pneumothorax NOT:épanchement pleural", ["pneumothorax"], ["épanchement pleural"]),
        ("NOT:fracture, luxation", ["luxation"], ["fracture"]),
        ("NOT:fracture NOT:luxation", [], ["fracture", "luxation"]),
    ],
)
def test_explicit_not_syntax(query: str, affirmed: list[str], negated: list[str]) -> None:
    parsed = parse_clinical_query(query)
    assert parsed.affirmed_terms == affirmed
    assert parsed.negated_terms == negated
    assert all(c.explicit for c in parsed.clauses if c.polarity == "negated")
    assert parsed.polarity == ("negated" if not affirmed else "affirmed")


def test_leading_dash_is_left_to_the_lexical_engine() -> None:
    parsed = parse_clinical_query("-fracture")
    assert parsed.polarity == "affirmed"


def test_hypothetical_cue_stays_in_the_text() -> None:
    parsed = parse_clinical_query("suspicion d'embolie pulmonaire")
    assert (parsed.text, parsed.polarity) == ("suspicion d'embolie pulmonaire", "affirmed")


def test_filler_only_query_is_kept_as_is() -> None:
    parsed = parse_clinical_query("patients")
    assert (parsed.text, parsed.polarity, parsed.clauses) == ("patients", "affirmed", [])


def test_language_is_reported() -> None:
    assert parse_clinical_query("sans épanchement pleural").language == "fr"
    assert parse_clinical_query("patients without pleural effusion").language == "en"
    assert parse_clinical_query("no pneumothorax", language="en").language == "en"


def test_an_empty_explicit_marker_is_not_a_word_to_search() -> None:
    """« NOT: » with nothing after it searched the word "not" (total 1 on the API QA's Open-i index)."""
    for q in ("NOT:", "NOT: , ;", " not : "):
        parsed = parse_clinical_query(q)
        assert parsed.text == "" and parsed.affirmed_terms == [] and parsed.negated_terms == [], q
    assert parse_clinical_query("pneumothorax NOT:").affirmed_terms == ["pneumothorax"]
