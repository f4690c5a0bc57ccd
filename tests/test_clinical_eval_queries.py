"""The committed evaluation query set is well-formed and covers what it claims to cover."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # eval/ is not an installed package

from eval.build_queries import _de
from eval.query_set import load_queries


@pytest.fixture(scope="module")
def queries():  # type: ignore[no-untyped-def]
    return load_queries()


def test_query_set_size_languages_and_categories(queries) -> None:  # type: ignore[no-untyped-def]
    assert len(queries) >= 60
    assert set(Counter(q.language for q in queries)) == {"fr", "en"}
    categories = Counter(q.category for q in queries)
    assert set(categories) == {"plain", "negation", "abbreviation", "synonym", "cross_lingual", "hypothesis", "brief", "family", "relatives"}
    assert all(count >= 10 for category, count in categories.items() if category != "brief"), categories
    assert categories["brief"] == 7  # the product brief's example queries, both languages (eval/build_queries.py)


def test_brief_queries_hold_their_answer_and_what_must_come_after(queries) -> None:  # type: ignore[no-untyped-def]
    """« pneumothorax after central line »: the 6 radiographs affirming it are the answer (grade 2), the 14
    that rule it out (« contrôle post-pose de VVC : pas de pneumothorax ») must rank below; the NSTEMI
    queries' STEMI letters likewise; a brain MRI ruling the stroke out comes after those affirming it."""
    brief = {q.id: q for q in queries if q.category == "brief"}
    assert {q.query for q in brief.values()} >= {"IRM cérébrale AVC ischémique", "pneumothorax after central line",
                                                "IDM sans sus-décalage", "idm st-"}
    line = brief["brief-en-pneumothorax-central_line"]
    answers = sorted(d for d, g in line.relevant.items() if g == 2)
    assert len(answers) == 6 and len(line.below) == 14 and not set(line.below) & set(line.relevant)
    assert brief["brief-fr-pneumothorax-central_line"].relevant == line.relevant
    nstemi = brief["brief-fr-nstemi"]
    assert set(nstemi.relevant.values()) == {2} and len(nstemi.relevant) == len(nstemi.below) == 8
    stroke = brief["brief-fr-mri-ischemic_stroke"]
    assert {d for d, g in stroke.relevant.items() if g == 2} and not set(stroke.below) & set(stroke.relevant)


def test_negation_queries_look_negated_and_others_do_not(queries) -> None:  # type: ignore[no-untyped-def]
    from indexer.clinical.query import parse_clinical_query

    for query in queries:
        expected = "negated" if query.category == "negation" else "affirmed"
        assert parse_clinical_query(query.query, query.language).polarity == expected, query.id


def test_relevance_sets_differ_between_a_concept_and_its_negation(queries) -> None:  # type: ignore[no-untyped-def]
    by_id = {q.id: q for q in queries}
    for query in queries:
        if query.category == "negation" and f"plain-fr-{query.concept}" in by_id:
            positives = by_id[f"plain-fr-{query.concept}"].relevant
            assert not set(query.relevant) & {d for d, g in positives.items() if g == 2}, query.id


def test_invalid_file_names_the_query(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "queries:\n  - {id: q1, query: x, language: fr, category: plain, relevant: {D1: 3}}\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="query 'q1'"):
        load_queries(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("embolie pulmonaire", "d'embolie pulmonaire"),
        ("hernie discale", "de hernie discale"),
        ("BPCO", "de BPCO"),
        ("hémorragie méningée", "d'hémorragie méningée"),
    ],
)
def test_french_elision_in_generated_negations(name: str, expected: str) -> None:
    assert _de(name) == expected


def test_family_queries_ask_for_the_relatives_mentions(queries) -> None:  # type: ignore[no-untyped-def]
    """« antécédents familiaux de X » / "family history of X": relevant = a relative has X; the patient's own
    mentions come ``below``; both languages for each concept."""
    family = [q for q in queries if q.category == "family"]
    assert len(family) >= 10 and {q.language for q in family} == {"fr", "en"}
    assert all(set(q.relevant.values()) == {2} and not set(q.below) & set(q.relevant) for q in family)
    breast = {q.language: q for q in family if q.concept == "breast_cancer"}
    assert breast["fr"].query == "antécédents familiaux de cancer du sein" and breast["fr"].relevant == breast["en"].relevant
