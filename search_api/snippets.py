"""Snippets: a window of the best passage with the matched terms wrapped in ``<mark>``.

Matching uses the lexical index's own analyzers (:mod:`indexer.text.analyzers`), so a highlight
means exactly what BM25 matched: « épanchements » is marked for the query "epanchement". Everything
else is HTML-escaped: the snippet is safe to render as HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from indexer.clinical import mention_context
from indexer.clinical.mentions import mention_at, snippet_language
from indexer.text.analyzers import LANGUAGES, term_spans, terms

WINDOW_CHARS = 280


_WORD = re.compile(r"\w+")
MIN_HIGHLIGHT_CHARS = 3  # « d' », « l' », "of": elided articles and short stop words are not worth a mark


@lru_cache(maxsize=256)
def query_terms(query: str) -> dict[str, frozenset[str]]:
    """Analysed terms of the query worth highlighting, per analyzer language.

    A word that either language treats as a stop word is not highlighted at all: otherwise the
    English analyzer would mark every « avec » and « du » of a French report (and vice versa).
    Cached: a page of results asks for the same query's terms once per snippet.
    """
    wanted: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
    for word in _WORD.findall(query):
        analysed = {lang: terms(word, lang) for lang in LANGUAGES}
        if all(analysed.values()):
            for lang, lang_terms in analysed.items():
                wanted[lang].update(t for t in lang_terms if len(t) >= MIN_HIGHLIGHT_CHARS)
    return {lang: frozenset(lang_terms) for lang, lang_terms in wanted.items()}


#: what Tantivy's ``simple`` tokenizer calls a token: a maximal run of alphanumeric characters
_TOKEN = re.compile(r"[^\W_]+")


#: texts made only of these characters tokenise the same with the regex as with Tantivy: ASCII, Latin
#: letters (Latin-1 to IPA), punctuation, currency, arrows and maths, Latin ligatures. Elsewhere Rust's
#: "alphabetic" includes combining vowel signs (Devanagari) or circled letters that Python's does
#: not: such texts take the analyzers' own tokenisation.
_FAST_SAFE = re.compile("[\x00-\u02af\u2000-\u206f\u20a0-\u20cf\u2190-\u22ff\ufb00-\ufb06]*")


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str | None, ...]:
    """The analysed term of one token, per language of :data:`LANGUAGES` (None: dropped, e.g. a
    stop word). Every filter of the analyzers works token by token, so a token analysed alone gives
    the term it gets inside any text; cached, because a corpus repeats a small vocabulary."""
    out = []
    for lang in LANGUAGES:
        analysed = terms(word, lang)
        out.append(analysed[0] if len(analysed) == 1 else None)
    return tuple(out)


def fast_term_spans(text: str) -> list[tuple[tuple[str | None, ...], int, int]]:
    """(terms per language, start, end) of every token of *text*: :func:`term_spans` for both
    languages at once, tokenised by a C regex and analysed through :func:`word_terms`'s cache
    instead of two Tantivy round trips per passage (a test checks they agree on the demo corpus)."""
    if not _FAST_SAFE.fullmatch(text):  # a script where "alphanumeric" differs between Rust and Python
        per_lang = [{(start, end): term for term, start, end in term_spans(text, lang)} for lang in LANGUAGES]
        bounds = sorted({b for spans in per_lang for b in spans})
        return [(tuple(spans.get(b) for spans in per_lang), *b) for b in bounds]
    return [(word_terms(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def match_spans(text: str, wanted: dict[str, frozenset[str]]) -> list[tuple[int, int]]:
    """Merged character spans of *text* whose analysed term is one of the query's."""
    wanted_by_position = [(i, lang_terms) for i, lang in enumerate(LANGUAGES) if (lang_terms := wanted.get(lang))]
    if not wanted_by_position:
        return []
    spans = [
        (start, end)
        for analysed, start, end in fast_term_spans(text)
        if any(analysed[i] in lang_terms for i, lang_terms in wanted_by_position)
    ]
    return _merged(spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class QueryMatcher:
    """:func:`match_spans` for one query, remembering each word's verdict: a page of results asks
    the same question of the same words over and over ("is « pleural » one of the query's terms?")."""

    _MAX_WORDS = 50_000

    def __init__(self, query: str) -> None:
        self.wanted = query_terms(query)
        self._by_position = [(i, t) for i, lang in enumerate(LANGUAGES) if (t := self.wanted.get(lang))]
        #: (verdict of each word seen, the words whose verdict is True)
        self._state: tuple[dict[str, bool], set[str]] = ({}, set())

    def spans(self, text: str) -> list[tuple[int, int]]:
        if not self._by_position:
            return []
        if not _FAST_SAFE.fullmatch(text):
            return match_spans(text, self.wanted)
        verdicts, positive = self._state  # one attribute: replaced whole, never half-cleared
        if len(verdicts) > self._MAX_WORDS:
            self._state = ({}, set())  # requests holding the old pair finish with it
        words = set(_TOKEN.findall(text))  # one C pass; the set operations below run in C too
        for word in words.difference(verdicts):  # words not seen before in this query's pages
            analysed = word_terms(word)
            matched = any(analysed[i] in t for i, t in self._by_position)
            if matched:  # into the positive set first: a verdict seen by another thread is complete
                positive.add(word)
            verdicts[word] = matched
        found = []
        for word in words.intersection(positive):
            found += _whole_token_spans(text, word)
        found.sort()  # tokens never overlap: sorted spans are the tokens' order
        return _merged(found)


def _whole_token_spans(text: str, word: str) -> list[tuple[int, int]]:
    """Spans of the tokens of *text* (:data:`_TOKEN`: maximal runs of ``str.isalnum`` characters,
    the regex class of non-underscore word characters) equal to *word*: ``str.find`` and a look at the characters on
    either side, in place of a Python step per token of every passage shown."""
    spans = []
    size, length = len(word), len(text)
    at = text.find(word)
    while at >= 0:
        end = at + size
        if (at == 0 or not text[at - 1].isalnum()) and (end == length or not text[end].isalnum()):
            spans.append((at, end))
        at = text.find(word, at + 1)
    return spans


@lru_cache(maxsize=256)
def query_matcher(query: str) -> QueryMatcher:
    return QueryMatcher(query)


@dataclass(frozen=True)
class Snippet:
    html: str
    context: str | None  # clinical status of the first highlighted mention; None when nothing matched


def _window(text: str, anchor: int, width: int) -> tuple[int, int]:
    """A *width*-character window starting at *anchor* (a sentence start), never cutting a word."""
    if len(text) <= width:
        return 0, len(text)
    start = max(0, min(anchor, len(text) - width))
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _unchanged(text: str) -> str:
    return text


def contextual_snippet(
    text: str, query: str, language: str | None = None, width: int = WINDOW_CHARS, *, mentions: str | None = None
) -> Snippet:
    """The sentence holding the first match of *query* (matches in ``<mark>``) and that mention's
    clinical context, so « Absence d'<mark>épanchement</mark> » is shown as *negated*.

    *mentions*: the passage's stored :func:`~indexer.clinical.mentions.mention_index` (from
    ``StoredPassage.mentions``, computed at index time for this very *text* and *language*): the
    same answer without analysing the text again."""
    spans = query_matcher(query).spans(text)
    context = None
    anchor = 0
    if spans:
        if mentions is not None:
            anchor, status = mention_at(mentions, *spans[0])
        else:
            anchor, status = mention_context(text, *spans[0], snippet_language(language))
        context = status.value
    start, end = _window(text, anchor, width)
    # most passages hold no « & < > »: then no piece needs escaping (three C scans of the text
    # instead of an html.escape call, three replaces each, per piece of every snippet)
    escape = _escape if ("&" in text or "<" in text or ">" in text) else _unchanged
    parts: list[str] = ["…" if start > 0 else ""]
    cursor = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        parts.append(escape(text[cursor:span_start]))
        parts.append(f"<mark>{escape(text[span_start:span_end])}</mark>")
        cursor = span_end
    parts.append(escape(text[cursor:end]))
    parts.append("…" if end < len(text) else "")
    return Snippet(html="".join(parts).replace("\n", " "), context=context)
