"""A passage's sentences and non-affirmed spans, computed once at index time for query-time snippets.

Why: a search result's snippet shows the sentence of the first matched word and that mention's
clinical status (« Absence d'<mark>épanchement</mark> » → negated). :func:`mention_context` answers it
by segmenting the passage and analysing the sentence: pure Python, ~0.5 ms per passage, which made
snippets the largest part of a lexical search (#14 item 3: 100 results → ~50 ms, against < 1 ms for
Tantivy's own search). The answer depends only on the passage's text and language, so the indexer
stores it (:func:`mention_index`, a short JSON string next to the passage) and the query side
reads it back (:func:`mention_at`, a few list lookups) — the same answer as :func:`mention_context`
(tests/test_clinical_mentions.py checks every word of the fixture corpus and of tricky texts).
Passages indexed before this existed have none stored and fall back to :func:`mention_context`.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from functools import lru_cache
from operator import itemgetter, le

from indexer.clinical.config import ContextStatus
from indexer.clinical.context import _resolve_config, reading, split_by_context, split_reading
from indexer.clinical.sentences import segment


def snippet_language(language: str | None) -> str | None:
    """The language argument snippets use for a document (others: guessed from the text)."""
    return language if language in ("fr", "en") else None


def mention_index(text: str, language: str | None) -> str:
    """``{"s": [[start, end], ...], "c": [[start, end, status], ...]}``: the sentences (and headings)
    of *text* and its non-affirmed spans, as :func:`mention_context` would find them; a family span's
    status names its relatives (« family:mother »: :func:`~indexer.clinical.context.reading`)."""
    language = snippet_language(language)
    sentences = [[seg.start, seg.end] for seg in segment(text, _resolve_config(None))] if text else []
    spans = [
        [span.start, span.end, reading(span.status, span.relatives)]
        for span in split_by_context(text, language)
        if span.status is not ContextStatus.AFFIRMED
    ] if text else []
    return json.dumps({"s": sentences, "c": spans}, separators=(",", ":"))


@lru_cache(maxsize=4096)
def _decoded(index: str) -> tuple[list[list[int]], list[list], list[int] | None]:
    """(sentences, non-affirmed spans, sentence starts for a bisection — None when the sentences are
    not in order without overlap, where the first holding a position is found by a scan)."""
    data = json.loads(index)
    sentences = data["s"]
    # in C (map, itemgetter, le): decoded once per new passage, i.e. for most results of a new query
    starts = list(map(_FIRST, sentences))
    ordered = all(map(le, map(_SECOND, sentences), starts[1:]))  # each sentence ends before the next starts
    return sentences, data["c"], starts if ordered else None


_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def mention_at(index: str, start: int, end: int) -> tuple[int, ContextStatus]:
    """(start of the sentence holding ``[start, end)``, that mention's status) from a stored
    :func:`mention_index`: :func:`mention_context`'s answer without analysing the text again."""
    sentence, status = mention_status_at(index, start, end)
    return sentence, ContextStatus(split_reading(status)[0])


def mention_status_at(index: str, start: int, end: int) -> tuple[int, str]:
    """:func:`mention_at` with the status as its string value (what a search result shows), a family
    mention's relatives included (« family:mother »): no enum built per snippet."""
    sentences, spans, starts = _decoded(index)
    if starts is not None:  # in order, disjoint: the only candidate is the last sentence starting at or before
        at = bisect_right(starts, start) - 1
        if at < 0:
            return start, _AFFIRMED
        seg_start, seg_end = sentences[at]
        if start >= seg_end:
            return start, _AFFIRMED
        if not spans:  # most passages: nothing negated, hypothetical or familial
            return seg_start, _AFFIRMED
        sentences = sentences[at : at + 1]
    for seg_start, seg_end in sentences:
        if seg_start <= start < seg_end:
            best, best_overlap = _AFFIRMED, 0
            for span_start, span_end, status in spans:  # as status_at, within the sentence
                overlap = min(end, span_end, seg_end) - max(start, span_start, seg_start)
                if overlap > best_overlap:
                    best, best_overlap = status, overlap
            return seg_start, best
    return start, _AFFIRMED


_AFFIRMED = ContextStatus.AFFIRMED.value
