"""search_api.negating: the memo behind search.demote_negating_dense, and which candidates it demotes."""
from __future__ import annotations

from search_api.negating import AFFIRMED, NEGATED, ConceptDocuments, negating_documents

INDEX = {  # (concept, status) → documents: R1 only negates it, R2 negates and affirms it, R3 affirms it
    ("pneumothorax", NEGATED): {"R1", "R2"},
    ("pneumothorax", AFFIRMED): {"R2", "R3"},
}


def _counting() -> tuple[ConceptDocuments, list[tuple[str, str]]]:
    asked: list[tuple[str, str]] = []

    def lookup(forms: list[str], status: str) -> set[str]:
        asked.append((forms[0], status))
        return set(INDEX.get((forms[0], status), set()))

    return ConceptDocuments(lookup, size=2), asked


def test_only_the_candidates_that_negate_without_affirming_are_demoted() -> None:
    documents, _ = _counting()
    assert negating_documents([["pneumothorax"]], ["R1", "R2", "R3", "A9"], documents) == {"R1"}
    assert negating_documents([["pneumothorax"]], ["R2", "R3"], documents) == set()  # R2 also affirms it
    assert negating_documents([["emphysème"]], ["R1"], documents) == set()


def test_each_concept_and_status_is_looked_up_once_until_cleared() -> None:
    documents, asked = _counting()
    for _ in range(3):
        negating_documents([["pneumothorax"]], ["R1", "R3"], documents)
    assert asked == [("pneumothorax", NEGATED), ("pneumothorax", AFFIRMED)]
    documents.clear()  # a new index generation
    negating_documents([["pneumothorax"]], ["R1"], documents)
    assert asked[2:] == [("pneumothorax", NEGATED), ("pneumothorax", AFFIRMED)]


def test_the_memo_is_bounded() -> None:
    documents, asked = _counting()
    for concept in ("a", "b", "c", "a"):  # size 2: « a » was evicted by « c »
        documents([concept], NEGATED)
    assert [c for c, _ in asked] == ["a", "b", "c", "a"]
