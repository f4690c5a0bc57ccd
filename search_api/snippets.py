"""Snippets: a window of the best passage with the matched terms wrapped in ``<mark>``.

Matching uses the lexical index's own analyzers (:mod:`indexer.text.analyzers`), so a highlight
means exactly what BM25 matched: « épanchements » is marked for the query "epanchement". A concept's
multi-word form, quoted in the plan's highlight text, is marked only where it occurs whole, as the
lexical leg matched it (:func:`split_highlight`). Everything else is HTML-escaped: the snippet is safe
to render as HTML.

A search page asks for up to 100 snippets at once (:meth:`QueryMatcher.snippets`): its words are
judged together, whitespace chunk by chunk, and each matching word is found with ``str.find``, so no
passage is tokenised by a regex per request (#14 item 3: snippets were a third of a top-100 lexical
search). ``tests/test_lean_results.py`` checks the page's snippets equal the per-passage reference.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate, compress
from operator import not_
from collections.abc import Collection, Sequence
from typing import NamedTuple

from indexer.backend.base import reading_searched
from indexer.clinical.context import mention_reading
from indexer.clinical.mentions import mention_status_at, snippet_language
from indexer.text.analyzers import LANGUAGES, term_spans, terms
from indexer.text.signs import SIGNS, SPECIAL_TOKEN, may_hold_special

WINDOW_CHARS = 280


_WORD = re.compile(rf"{SPECIAL_TOKEN}|\w+")  # « ST+ » is one word, not « ST »
MIN_HIGHLIGHT_CHARS = 3  # « d' », « l' », "of": elided articles and short stop words are not worth a mark


@lru_cache(maxsize=256)
def query_terms(query: str) -> dict[str, frozenset[str]]:
    """Analysed terms of the query worth highlighting, per analyzer language.

    A word that either language treats as a stop word is not highlighted at all: otherwise the
    English analyzer would mark every « avec » and « du » of a French report (and vice versa).
    Cached: a page of results asks for the same query's terms once per snippet.
    """
    wanted: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
    per_language = list(wanted.values())
    for word in dict.fromkeys(_WORD.findall(query)):  # a highlight text repeats its concepts' words
        for lang_terms, highlighted in zip(per_language, _highlighted_terms(word)):
            lang_terms.update(highlighted)
    return {lang: frozenset(lang_terms) for lang, lang_terms in wanted.items()}


@lru_cache(maxsize=65_536)
def _highlighted_terms(word: str) -> tuple[tuple[str, ...], ...]:
    """What one query word adds to :func:`query_terms`, per language of :data:`LANGUAGES` (``()``:
    nothing, a stop word in some language). Cached per word: each new query's highlight text is its
    concepts' surface forms, the same words query after query, and analysing them again was a
    quarter of a top-10 page's snippet time (#14 item 3)."""
    analysed = [terms(word, lang) for lang in LANGUAGES]
    if not all(analysed):
        return ()
    return tuple(tuple(t for t in lang_terms if len(t) >= MIN_HIGHLIGHT_CHARS) for lang_terms in analysed)


#: what Tantivy's ``simple`` tokenizer calls a token: a maximal run of alphanumeric characters, once
#: :func:`~indexer.text.signs.analysis_text` made « ST+ », « ST- » and "non-ST" words of their own
_TOKEN = re.compile(rf"{SPECIAL_TOKEN}|[^\W_]+")
#: :data:`_TOKEN` for a text without special spans (:func:`~indexer.text.signs.may_hold_special`): cheaper
_PLAIN_TOKEN = re.compile(r"[^\W_]+")


def _token_pattern(text: str) -> re.Pattern[str]:
    """:data:`_TOKEN`, or the cheaper :data:`_PLAIN_TOKEN` when *text* holds no special span."""
    return _TOKEN if may_hold_special(text) else _PLAIN_TOKEN


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
    tokens = _token_pattern(text)
    return [(word_terms(m.group()), m.start(), m.end()) for m in tokens.finditer(text)]


#: a multi-word form in a highlight text: « "décollement pleural" » (see :func:`split_highlight`)
_PHRASE = re.compile(r'"([^"]*)"')


def is_phrase(text: str) -> bool:
    """Whether *text* is more than one token: a form the highlight text quotes and marks only whole
    (:func:`search_api.query_plan.highlight_text` writes it, :func:`split_highlight` reads it)."""
    return len(_TOKEN.findall(text)) > 1


@lru_cache(maxsize=256)
def split_highlight(query: str) -> tuple[str, tuple[str, ...]]:
    """(the free words, the phrases) of a highlight text: a quoted part is a phrase, e.g. the plan's
    ``pneumothorax "décollement pleural" "collapsed lung"``. Why: the lexical leg matched a concept's
    multi-word form as a phrase, so « pleural » alone (« épanchement pleural ») is not a match of
    *pneumothorax* and must not be marked as one; a free word is matched, and marked, on its own."""
    phrases = tuple(dict.fromkeys(p for p in _PHRASE.findall(query) if is_phrase(p)))
    free = _PHRASE.sub(lambda m: " " if is_phrase(m.group(1)) else f" {m.group(1)} ", query)
    return free.replace('"', " "), phrases


#: per language of :data:`LANGUAGES`: a phrase's first term → the phrases' term sequences starting with it
PhraseIndex = tuple[dict[str, list[tuple[str | None, ...]]], ...]


@lru_cache(maxsize=256)
def _phrase_index(phrases: tuple[str, ...]) -> PhraseIndex:
    """Each phrase's analysed terms per language, from its first to its last word with a term in that
    language; a stop word inside matches any token, as a phrase query's position gap does. A word too
    short to be highlighted (« ST » of "ST elevation", "x" of "x-ray") stays in the pattern, unmarked:
    the lexical leg matched the whole phrase, so "elevation" of "non-ST-elevation" (whose first token
    is "non-ST", :mod:`indexer.text.signs`) is no match of "ST elevation". Keyed by the first term: a
    text's token looks up the phrases that may start at it with one dict read."""
    index: PhraseIndex = tuple({} for _ in LANGUAGES)
    for phrase in phrases:
        words = _TOKEN.findall(phrase)
        if not any(any(_highlighted_terms(word)) for word in words):
            continue  # nothing of it would be marked
        analysed = [word_terms(word) for word in words]
        for i, by_first in enumerate(index):
            present = [k for k, terms in enumerate(analysed) if terms[i] is not None]
            if not present:
                continue
            pattern = tuple(terms[i] for terms in analysed[present[0]:present[-1] + 1])
            if pattern not in by_first.get(pattern[0], ()):  # type: ignore[arg-type]
                by_first.setdefault(pattern[0], []).append(pattern)  # type: ignore[arg-type]
    return index


def _has_unmarked_edges(index: PhraseIndex) -> bool:
    """Whether a phrase of *index* starts or ends with a word that is never highlighted (« ST » of "ST
    elevation"): its occurrences cannot be told from the highlighted matches alone."""
    return any(len(pattern[0]) < MIN_HIGHLIGHT_CHARS or len(pattern[-1]) < MIN_HIGHLIGHT_CHARS  # type: ignore[arg-type]
               for by_first in index for patterns in by_first.values() for pattern in patterns)


Token = tuple[tuple[str | None, ...], int, int]
#: between two of a text's matches far apart: no phrase spans it (its start, -1, is never marked)
_BREAK: Token = (("\x00",) * len(LANGUAGES), -1, -1)


def _phrase_marks(tokens: Sequence[Token], index: PhraseIndex) -> set[int]:
    """Start offsets of the *tokens* (consecutive, as in the text) inside a whole occurrence of a phrase,
    at a position where the phrase has a term (not a stop word)."""
    marked: set[int] = set()
    n = len(tokens)
    for p, (analysed, _, _) in enumerate(tokens):
        for i, by_first in enumerate(index):
            patterns = by_first.get(analysed[i])  # type: ignore[arg-type]  # None: no phrase starts there
            if patterns is None:
                continue
            for pattern in patterns:
                if p + len(pattern) > n:
                    continue
                for k in range(1, len(pattern)):  # the first term matched already (the dict key)
                    token, want = tokens[p + k], pattern[k]
                    if token[2] < 0 or (want is not None and token[0][i] != want):
                        break
                else:
                    marked.update(tokens[p + k][1] for k, want in enumerate(pattern) if want is not None)
    return marked


def query_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Merged spans of *text*'s tokens the highlight text *query* marks: a free word's wherever it
    occurs, a phrase's (:func:`split_highlight`) only inside a whole occurrence of the phrase. The plain
    reference, every token analysed (the document page; tests compare :class:`QueryMatcher` to it)."""
    free, phrases = split_highlight(query)
    if not phrases:
        return match_spans(text, query_terms(query))
    wanted, free_wanted = query_terms(query), query_terms(free)
    tokens = fast_term_spans(text)
    marks = _phrase_marks(tokens, _phrase_index(phrases))
    return _merged([
        (start, end) for analysed, start, end in tokens
        if any(analysed[i] in free_wanted.get(lang, ()) for i, lang in enumerate(LANGUAGES))
        or (start in marks and any(analysed[i] in wanted.get(lang, ()) for i, lang in enumerate(LANGUAGES)))
    ])


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
    """:func:`match_spans` for one query, remembering each whitespace chunk's verdict: a page of
    results asks the same question of the same words over and over ("does « pleural, » hold one of
    the query's terms?").

    Why chunks (``str.split``) rather than tokens (:data:`_TOKEN`): a regex tokenisation costs
    ~0.1 µs per character in CPython's ``re``, ten times a whitespace split, and was the largest
    single cost of a snippet (#14 item 3). A token is a run of alphanumeric characters, so it never
    spans whitespace: the tokens of a text are the tokens of its chunks, which :func:`chunk_terms`
    analyses once per distinct chunk (cached across queries, like :func:`word_terms`).
    """

    _MAX_CHUNKS = 50_000

    def __init__(self, query: str) -> None:
        self.wanted = query_terms(query)
        self._by_position = [(i, t) for i, lang in enumerate(LANGUAGES) if (t := self.wanted.get(lang))]
        #: the :func:`_pair` key (language position, analysed term) of every term the query wants (equal
        #: strings, not the shared ones: a concept's forms give a query ~200 terms, built once per query)
        self._wanted_pairs = frozenset(f"{i}{term}" for i, wanted in self._by_position for term in wanted)
        #: (every chunk judged, the query's words of each chunk holding some)
        self._state: tuple[set[str], dict[str, tuple[str, ...]]] = (set(), {})
        self._query = query
        free, phrases = split_highlight(query)
        #: the query's phrases (:func:`_phrase_index`), None for a query without any: the path as before
        self._phrases = _phrase_index(phrases) if phrases else None
        #: a phrase starts or ends with a word never highlighted (« ST » of "ST elevation"): a text holding
        #: one of its words is read whole (:meth:`_in_phrases`), not only around its matches
        self._unmarked_edges = self._phrases is not None and _has_unmarked_edges(self._phrases)
        #: how far (characters) from one of its words an occurrence of a phrase may reach: twice the longest
        #: phrase, for spacing (the text around a flagged word that :meth:`_in_phrases` reads)
        self._phrase_chars = 2 * max((len(p) for p in phrases), default=0)
        #: how many of a text's matches a phrase spans, less one (its stop words are not matches)
        self._reach = max((len(p) - 1 for by_first in self._phrases or () for ps in by_first.values() for p in ps), default=0)
        free_wanted = query_terms(free)
        singles = [{term for term, ps in by_first.items() if any(len(p) == 1 for p in ps)} for by_first in self._phrases or ()]
        #: per language, the terms marked wherever they occur: free words', and those of a phrase with one
        #: highlighted word (« ray » of "x-ray"): a match on its own, as in :func:`query_spans`
        self._free_by_position = [
            (i, t) for i, lang in enumerate(LANGUAGES)
            if (t := free_wanted.get(lang, frozenset()).union(*singles[i:i + 1]))
        ]

    def _words_of(self, chunk: str) -> tuple[str, ...]:
        """The words of *chunk* whose analysed term (in some language) is one of the query's."""
        if self._wanted_pairs.isdisjoint(chunk_terms(chunk)):  # most chunks: one cached set test
            return ()
        return tuple(
            word for word in _TOKEN.findall(chunk)
            if any(analysed[i] in t for analysed in (word_terms(word),) for i, t in self._by_position)
        )

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Merged spans of *text*'s tokens whose analysed term is one of the query's."""
        return self.spans_many([text])[0]

    def spans_many(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """:meth:`spans` of each of *texts* (a page of results): the page's chunks are judged in
        one pass, then each text is searched (``str.find``) for the few words of the page that
        matched only, not tokenised."""
        if not self._by_position:
            return [[] for _ in texts]
        joined = "\n".join(texts)
        if joined.isascii() or _FAST_SAFE.fullmatch(joined):
            fast = texts
        else:  # a script where "alphanumeric" differs between Rust and Python: the analyzers' path
            fast = [text for text in texts if _FAST_SAFE.fullmatch(text)]
            joined = "\n".join(fast)
        judged, positive = self._state  # one attribute: replaced whole, never half-cleared
        if len(judged) > self._MAX_CHUNKS:
            self._state = (set(), {})  # requests holding the old pair finish with it
        chunks = joined.split()  # C passes; so are the set operations below
        if not judged.issuperset(chunks):
            new = list(set(chunks).difference(judged))  # chunks new to this query
            # most hold none of the query's terms: one cached set test each (:func:`chunk_terms`),
            # chained in C (``compress``, ``map``): a Python step per chunk was ~0.6 µs, 200 per page
            holding = compress(new, map(not_, map(self._wanted_pairs.isdisjoint, map(chunk_terms, new))))
            for chunk in holding:  # into the positive map first: a verdict seen by another thread is complete
                if words := self._words_of(chunk):
                    positive[chunk] = words
            judged.update(new)
        # the page's words that match the query: each text's matching tokens are among them
        words = {word for chunk in positive.keys() & chunks for word in positive[chunk]}
        # each word's occurrences in the joined page (``str.find`` jumps from one to the next), kept
        # when they are a whole token (a "\n" between texts is a token boundary), then given to their text
        starts = list(accumulate([len(text) + 1 for text in fast], initial=0))
        found: list[list[tuple[int, int]]] = [[] for _ in fast]
        size = len(joined)
        # a word of a phrase only (« pleural » of « décollement pleural »): marked only inside the whole
        # phrase, checked in the texts holding one (*flagged*); the others are left as they are
        phrase_only: set[str] = set()
        if self._phrases is not None:
            by_position = self._free_by_position
            phrase_only = {w for w in words if not any(word_terms(w)[i] in t for i, t in by_position)}
        flagged: dict[int, set[int]] = {}  # text → where its phrase-only words start
        for word in words:
            flag = word in phrase_only
            signed = word[-1] in SIGNS or "-" in word  # « ST+ », "non-ST": not inside « ST+/- » (_whole_token)
            at = joined.find(word)
            while at >= 0:
                end = at + len(word)
                if (at == 0 or not joined[at - 1].isalnum()) and (end == size or not joined[end].isalnum()) and (
                    _whole_token(joined, at, end) if signed or (end < size and joined[end] in SIGNS) or (at and joined[at - 1] in SIGNS) else True
                ):
                    i = bisect_right(starts, at) - 1
                    found[i].append((at - starts[i], end - starts[i]))
                    if flag:
                        flagged.setdefault(i, set()).add(at - starts[i])
                at = joined.find(word, end)  # an occurrence starting inside this one follows a letter of it
        for spans in found:
            # whole tokens never overlap nor touch (a token is a maximal run of alphanumeric
            # characters): sorted, they are the merged spans already
            spans.sort()
        for i, only in flagged.items():
            found[i] = self._in_phrases(fast[i], found[i], only)
        if fast is texts:
            return found
        by_text = iter(found)
        return [next(by_text) if _FAST_SAFE.fullmatch(text) else query_spans(text, self._query) for text in texts]

    #: a gap between two of a text's matches longer than this holds no part of a phrase
    _GAP = 64

    def _in_phrases(self, text: str, spans: list[tuple[int, int]], only: set[int]) -> list[tuple[int, int]]:
        """*spans* less those of a phrase-only word (starting at one of *only*) outside a whole occurrence
        of one of the query's phrases. A phrase starts and ends with highlighted words (:func:`_phrase_index`),
        so an occurrence holding such a word runs over at most :attr:`_reach` of *spans* each side of it:
        only those, and the gaps between them (most are « » or « , »), are read, not the text."""
        if self._unmarked_edges:  # a phrase's edge word is no match: the text's own tokens around each flagged word
            marks = _phrase_marks(self._tokens_around(text, spans, only), self._phrases)  # type: ignore[arg-type]
            return [(s, e) for s, e in spans if s in marks or s not in only]
        reach, count, gap = self._reach, len(spans), self._GAP
        # its phrases have two highlighted words or more (one-word ones are free: __init__), so a word
        # with no other match near it is in none: most (« pleural » of « épanchement pleural »)
        near = sorted({k for j, (start, end) in enumerate(spans) if start in only
                       and ((j and start - spans[j - 1][1] <= gap) or (j + 1 < count and spans[j + 1][0] - end <= gap))
                       for k in range(max(0, j - reach), min(count, j + reach + 1))})
        if not near:
            return [(s, e) for s, e in spans if s not in only]
        tokens: list[Token] = []
        previous, last = -1, -2
        for k in near:
            start, end = spans[k]
            if k != last + 1 and tokens:
                tokens.append(_BREAK)
            elif tokens and start - previous > 2:  # a token in between needs a separator each side
                if start - previous > self._GAP:
                    tokens.append(_BREAK)
                else:
                    tokens += [(word_terms(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text, previous, start)]
            tokens.append((word_terms(text[start:end]), start, end))
            previous, last = end, k
        marks = _phrase_marks(tokens, self._phrases)  # type: ignore[arg-type]  # set when called
        return [(s, e) for s, e in spans if s in marks or s not in only]

    def _tokens_around(self, text: str, spans: list[tuple[int, int]], only: set[int]) -> list[Token]:
        """The tokens of *text* within :attr:`_phrase_chars` of each phrase-only word (windows cut at
        whitespace, so no token is cut; :data:`_BREAK` between windows): where a phrase holding it may lie."""
        reach, length = self._phrase_chars, len(text)
        windows: list[list[int]] = []
        for start, end in spans:
            if start not in only:
                continue
            low = max(0, start - reach)
            low = text.rfind(" ", 0, low) + 1 if low else 0  # back to a word's start
            high = text.find(" ", min(length, end + reach))
            high = length if high < 0 else high
            if windows and low <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], high)
            else:
                windows.append([low, high])
        if not _FAST_SAFE.fullmatch(text):  # as fast_term_spans: the analyzers' tokens
            return fast_term_spans(text)
        tokens: list[Token] = []
        pattern = _token_pattern(text)
        for low, high in windows:
            if tokens:
                tokens.append(_BREAK)
            tokens += [(word_terms(m.group()), m.start(), m.end()) for m in pattern.finditer(text, low, high)]
        return tokens

    def snippet(
        self, text: str, language: str | None, width: int, mentions: str | None, statuses: Collection[str] | None = None
    ) -> Snippet:
        """:func:`contextual_snippet` of *text* for this query."""
        return Snippet(*self._snippet(text, self.spans(text), language, width, mentions, statuses))

    def snippets(
        self, items: Sequence[tuple[str, str | None, str | None]], width: int = WINDOW_CHARS,
        statuses: Collection[str] | None = None,
    ) -> list[tuple[str, str | None]]:
        """(HTML, context) — :func:`contextual_snippet`'s answer as a plain pair — of each (text,
        language, stored mentions) of a page of results. *statuses*: the contexts the search asked for
        (the plan's ``lexical_statuses``): each snippet shows the first match in one of them."""
        spans = self.spans_many([text for text, _, _ in items])
        snippet = self._snippet
        return [snippet(text, found, language, width, mentions, statuses)
                for (text, language, mentions), found in zip(items, spans)]

    @staticmethod
    def _snippet(
        text: str, spans: list[tuple[int, int]], language: str | None, width: int, mentions: str | None,
        statuses: Collection[str] | None = None,
    ) -> tuple[str, str | None]:
        context = None
        anchor = 0
        if spans:
            anchor, context = _anchor(text, spans, language, mentions, statuses)
        length = len(text)
        if length <= width and not ("&" in text or "<" in text or ">" in text):
            # the common case (a passage shorter than the window, nothing to escape): every span is
            # shown whole, so no bounds to check, and each mark goes in with one C call
            cursor = 0
            pieces: list[str] = []
            for span_start, span_end in spans:
                pieces += (text[cursor:span_start], "<mark>", text[span_start:span_end], "</mark>")
                cursor = span_end
            pieces.append(text[cursor:])
            return "".join(pieces).replace("\n", " "), context
        start, end = (0, length) if length <= width else _window(text, anchor, width)
        parts: list[str] = ["…" if start > 0 else ""]
        cursor = start
        if "&" in text or "<" in text or ">" in text:
            for span_start, span_end in spans:
                if span_end <= start or span_start >= end:
                    continue
                parts.append(_escape(text[cursor:span_start]))
                parts.append("<mark>" + _escape(text[span_start:span_end]) + "</mark>")
                cursor = span_end
            parts.append(_escape(text[cursor:end]))
        else:  # most passages hold no « & < > »: no piece needs escaping (one C scan each instead of
            # an html.escape call, three replaces each, per piece of every snippet)
            for span_start, span_end in spans:
                if span_end <= start or span_start >= end:
                    continue
                parts.append(text[cursor:span_start])
                parts.append("<mark>" + text[span_start:span_end] + "</mark>")
                cursor = span_end
            parts.append(text[cursor:end])
        parts.append("…" if end < length else "")
        return "".join(parts).replace("\n", " "), context


def _anchor(text: str, spans: list[tuple[int, int]], language: str | None, mentions: str | None,
            statuses: Collection[str] | None) -> tuple[int, str]:
    """(where the snippet window is centred, the context shown) for the first match whose clinical
    context is one of *statuses*, else for the first match.

    Why not always the first match: a default search asks for affirmed mentions, and a passage
    « Pas d'épanchement pleural. Pneumothorax droit avec décollement pleural » matched by
    *pneumothorax* (and its form « décollement pleural ») would be shown centred on the negated
    « pleural » with a « nié » badge, although the passage was found for its affirmed pneumothorax.
    Most first matches are already in a wanted context: one look-up, as before."""
    first: tuple[int, str] | None = None
    for start, end in spans:
        # the context shown names a family mention's relatives (« family:mother »,
        # indexer.clinical.context.reading); the API splits it (SearchResult.relatives)
        found = (mention_status_at(mentions, start, end) if mentions is not None
                 else mention_reading(text, start, end, snippet_language(language)))
        # a search about named relatives (« family:mother ») anchors on a family mention about them
        if statuses is None or reading_searched(found[1], statuses):
            return found
        first = first or found
    return first  # type: ignore[return-value]  # spans is not empty


def _whole_token(text: str, at: int, end: int) -> bool:
    """Whether ``text[at:end]``, next to a sign or hyphen, is a whole :data:`_TOKEN`: « ST » of « ST+ »
    or of "non-ST" is not (it is part of a signed or « non- » abbreviation), nor « ST+ » of « ST+/- »."""
    match = _TOKEN.match(text, at)
    if match is None or match.end() != end:
        return False
    start = max(0, at - 4)  # a « non- » abbreviation starts four characters before its letters
    return not any(m.start() < at < m.end() for m in _TOKEN.finditer(text, start, min(len(text), end + 8)))


@lru_cache(maxsize=65_536)
def chunk_terms(chunk: str) -> tuple[str, ...]:
    """The :func:`_pair` key (position of the language in :data:`LANGUAGES`, analysed term) of every
    token (:data:`_TOKEN`) of one whitespace-free chunk of text, e.g. « l'épaule, »: a corpus repeats
    its chunks, so each is tokenised by the regex and analysed once, and a query judges a chunk with
    one set test. A tuple (a set would take three times the memory) of keys shared between chunks:
    ~0.3 kB per cached chunk, cache included."""
    tokens = _token_pattern(chunk)
    return tuple(
        _pair(i, term) for word in tokens.findall(chunk) for i, term in enumerate(word_terms(word)) if term is not None
    )


_PAIRS: dict[str, str] = {}
assert len(LANGUAGES) < 10, "a _pair key's first character is the language's position"


def _pair(i: int, term: str) -> str:
    """One string per (language position, term), e.g. ``"0pleural"``, shared by every chunk holding it
    (« pleural » is in thousands of cached chunks). A string, not an ``(i, term)`` tuple: a string
    keeps its hash, a tuple computes it again at every set test, and the page's test of ~200
    chunks against the query's terms was twice as slow with tuples (#14 item 3)."""
    pair = f"{i}{term}"  # LANGUAGES has fewer than ten entries: the first character is the position
    if len(_PAIRS) > 200_000:  # a bound, not an eviction policy: pairs still held by chunks stay valid
        _PAIRS.clear()
    return _PAIRS.setdefault(pair, pair)


@lru_cache(maxsize=256)
def query_matcher(query: str) -> QueryMatcher:
    return QueryMatcher(query)


class Snippet(NamedTuple):
    """A snippet's HTML and the clinical status of its first highlighted mention (None when nothing
    matched), a family mention's relatives included (« family:mother »:
    :func:`indexer.clinical.context.reading`). A named tuple: built once per result shown, and a frozen dataclass's ``__init__``
    (``object.__setattr__`` per field) cost more than the rest of a short passage's markup."""

    html: str
    context: str | None


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


def contextual_snippet(
    text: str, query: str, language: str | None = None, width: int = WINDOW_CHARS, *, mentions: str | None = None,
    statuses: Collection[str] | None = None,
) -> Snippet:
    """The sentence holding the first match of *query* (matches in ``<mark>``) and that mention's
    clinical context, so « Absence d'<mark>épanchement</mark> » is shown as *negated*.

    *mentions*: the passage's stored :func:`~indexer.clinical.mentions.mention_index` (from
    ``StoredPassage.mentions``, computed at index time for this very *text* and *language*): the
    same answer without analysing the text again."""
    return query_matcher(query).snippet(text, language, width, mentions, statuses)
