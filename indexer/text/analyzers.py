"""Text analysis shared by indexing, querying and snippet highlighting.

One analyzer per language: tokenise, drop very long tokens, lower-case, remove stop words, fold
accents (so « epanchement » typed without accents matches « épanchement »), then Snowball-stem
(« épanchements pleuraux » → ``epanch pleural``). Signed abbreviations (« ST+ », « ST- ») and "non-ST"
are first rewritten into words of their own (:mod:`indexer.text.signs`), which the index must be given
too (:func:`analysis_text`). Using the very same analyzers for documents,
queries and highlights keeps the three consistent.
"""

from __future__ import annotations

from functools import lru_cache

import tantivy

from indexer.text.signs import analysis_text, analysis_text_with_offsets

LANGUAGES = {"fr": "french", "en": "english"}


@lru_cache(maxsize=None)
def analyzer(language: str) -> tantivy.TextAnalyzer:
    """The Tantivy analyzer for ``"fr"`` or ``"en"``."""
    snowball = LANGUAGES[language]
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword(snowball))
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer(snowball))
        .build()
    )


def tokenizer_name(language: str) -> str:
    return f"medsearch_{language}"


def terms(text: str, language: str) -> list[str]:
    """Analysed terms of *text* (what the lexical index stores)."""
    return list(_cached_terms(text, language))


@lru_cache(maxsize=65_536)
def _cached_terms(text: str, language: str) -> tuple[str, ...]:
    """Query words and a lexicon's surface forms recur from query to query (each concept brings the
    same synonyms every time): one Tantivy call per distinct (text, language)."""
    return tuple(analyzer(language).analyze(analysis_text(text)))


def term_spans(text: str, language: str) -> list[tuple[str, int, int]]:
    """(term, char_start, char_end) of each token the analyzer keeps (stop words already dropped by
    its filters): used to highlight matches. Offsets are *text*'s, although the analyzer reads
    :func:`analysis_text` (« ST+ » is one token, ``stplus``, spanning the three characters)."""
    rewritten, offsets = analysis_text_with_offsets(text)
    tokens = analyzer(language).pre_tokenize(rewritten).tokens
    if rewritten == text:
        return [(t.text, t.char_offset_from, t.char_offset_to) for t in tokens]
    return [(t.text, offsets[t.char_offset_from], offsets[t.char_offset_to]) for t in tokens]
