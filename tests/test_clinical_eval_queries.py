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
    assert set(categories) == {"plain", "negation", "abbreviation", "synonym", "cross_lingual", "hypothesis"}
    assert all(count >= 10 for count in categories.values()), categories


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
