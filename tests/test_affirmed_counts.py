"""The embedded backend's affirmed-only counts skip their search when no passage has one of the query's
words in a hypothetical field (#14 item 3): that look-up is memoised per index, so it must follow the
index's changes (a writer's commit) and it must look at every word the query searches."""

from __future__ import annotations

from pathlib import Path

from indexer.backend.base import DEFAULT_STATUSES, NEGATED_PART
from indexer.backend.embedded.lexical import LexicalIndex
from indexer.schema import Document, Passage


def _add(index: LexicalIndex, doc_id: str, contexts: dict[str, str]) -> None:
    text = " ".join(contexts.values())
    document = Document(id=doc_id, kind="report", text=text, source_path=f"/src/{doc_id}.txt", title="Compte rendu", language="fr")
    index.add(document, [(int(doc_id[1:]), Passage(doc_id=doc_id, ordinal=0, text=text))], [contexts])
    index.commit()


def test_hypothetical_mentions_follow_the_index(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lexical")
    _add(index, "D1", {"affirmed": "Pneumopathie droite.", "negated": "Pas d'épanchement."})
    assert not index.hypothetical_mentions("pneumopathie", DEFAULT_STATUSES, None)  # affirmed only: no search needed
    _add(index, "D2", {"hypothetical": "Suspicion de pneumopathie."})  # the memo of « pneumopathie » is stale now
    assert index.hypothetical_mentions("pneumopathie", DEFAULT_STATUSES, None)
    assert index.hypothetical_mentions("fièvre pneumopathie", DEFAULT_STATUSES, None)  # any free word
    assert not index.hypothetical_mentions("fièvre", DEFAULT_STATUSES, None)
    assert not index.hypothetical_mentions("pneumopathie", ("affirmed",), None)  # hypothetical mentions not searched
    # a concept's forms, and the head of a form with a negated part (searched in the query's statuses)
    assert index.hypothetical_mentions("", DEFAULT_STATUSES, [["infection pulmonaire", "pneumopathie"]])
    assert index.hypothetical_mentions("", DEFAULT_STATUSES, [[f"pneumopathie{NEGATED_PART}épanchement"]])
    assert not index.hypothetical_mentions("", DEFAULT_STATUSES, [[f"épanchement{NEGATED_PART}pneumopathie"]])
    assert not index.hypothetical_mentions("", DEFAULT_STATUSES, [["pneumopathie droite"]])  # a phrase, as searched
