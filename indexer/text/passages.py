"""Split documents into passages: the unit that is embedded, lexically indexed and shown as a snippet.

Passages follow section boundaries first (a « Conclusion » should not be glued to the « Technique »),
then cut long sections into overlapping word windows small enough for the sentence encoders, whose
quality drops on long inputs.
"""

from __future__ import annotations

from collections.abc import Iterator

from indexer.schema import Document, Passage


def _windows(words: list[str], max_words: int, overlap: int) -> Iterator[list[str]]:
    step = max(1, max_words - overlap)
    for start in range(0, len(words), step):
        yield words[start : start + max_words]
        if start + max_words >= len(words):
            break


def split_passages(document: Document, max_words: int = 120, overlap_words: int = 20) -> list[Passage]:
    """Cut *document* into passages, prefixing none with the title (the title is indexed separately)."""
    blocks = [(s.title, s.text) for s in document.sections if s.text.strip()]
    if not blocks:
        blocks = [("", document.text or document.title)]
    passages: list[Passage] = []
    for section_title, text in blocks:
        words = text.split()
        for chunk in _windows(words, max_words, overlap_words):
            passages.append(
                Passage(doc_id=document.id, ordinal=len(passages), text=" ".join(chunk), section=section_title)
            )
    return passages
