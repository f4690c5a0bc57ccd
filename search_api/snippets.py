"""Snippets: a window of the best passage with the matched terms wrapped in ``<mark>``.

Matching uses the lexical index's own analyzers (:mod:`indexer.store.analyzers`), so a highlight
means exactly what BM25 matched: « épanchements » is marked for the query "epanchement". Everything
else is HTML-escaped: the snippet is safe to render as HTML.
"""

from __future__ import annotations

import html

from indexer.store.analyzers import LANGUAGES, term_spans, terms

WINDOW_CHARS = 280


def query_terms(query: str) -> dict[str, set[str]]:
    """Analysed terms of the query, per analyzer language."""
    return {lang: set(terms(query, lang)) for lang in LANGUAGES}


def match_spans(text: str, wanted: dict[str, set[str]]) -> list[tuple[int, int]]:
    """Merged character spans of *text* whose analysed term is one of the query's."""
    spans = sorted(
        (start, end)
        for lang, lang_terms in wanted.items()
        if lang_terms
        for term, start, end in term_spans(text, lang)
        if term in lang_terms
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    if len(text) <= width:
        return 0, len(text)
    center = spans[0][0] if spans else 0
    start = max(0, min(center - width // 3, len(text) - width))
    while start > 0 and not text[start - 1].isspace():  # do not cut a word in half
        start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def make_snippet(text: str, query: str, width: int = WINDOW_CHARS) -> str:
    """HTML snippet of *text* around the first match of *query*, matches in ``<mark>``."""
    spans = match_spans(text, query_terms(query))
    start, end = _window(text, spans, width)
    parts: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        parts.append(html.escape(text[cursor:span_start], quote=False))
        parts.append(f"<mark>{html.escape(text[span_start:span_end], quote=False)}</mark>")
        cursor = span_end
    parts.append(html.escape(text[cursor:end], quote=False))
    parts.append("…" if end < len(text) else "")
    return "".join(parts).replace("\n", " ")
