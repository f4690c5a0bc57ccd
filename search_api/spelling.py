"""« Essayez avec l'orthographe … »: the closest known spelling of a query word the index does not contain.

Why: physicians type fast; a misspelled free word (« fracure ») matches no passage, and the page is filled
by the dense leg alone (``semantic_only``). The lexicon already corrects the misspellings of its own
concepts (its ``misspellings`` and its fuzzy match of long words); this module covers the other words.

The results are never changed: the response carries a ``suggestion`` (the query with the corrected words)
that the portal offers as a link. Candidates come from two vocabularies:

* the lexicon's surface forms (preferred names and synonyms, French and English): clean, public words;
* the index's own words (document frequency per word, read once per generation from the French, English
  and undetermined-language documents), left out for de-identified callers (an index word may be a name).

The caller (:meth:`search_api.retrieval.SearchEngine.spelling_suggestion`) keeps a candidate only when the
caller's own filtered search for it finds a document: a word that only documents outside the caller's
scope contain is never proposed. The distance is rapidfuzz's Levenshtein on lower-cased, accent-folded
words: at most one edit for words of up to five letters, two beyond; then the most frequent word wins.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from indexer.clinical import Lexicon
from indexer.clinical.text import fold

__all__ = ["MIN_LENGTH", "SpellingVocabulary", "Speller", "index_words", "lexicon_words", "max_edits", "replace_word"]

#: shorter words are too often real, different words (« rate », « foie ») to be corrected
MIN_LENGTH = 4
_WORD = re.compile(rf"[^\W\d_]{{{MIN_LENGTH},}}")
#: the documents whose words are read: French, English, and those too short to tell ("und": a short report)
_LANGUAGES = ("fr", "en", "und")


def max_edits(word: str) -> int:
    """The edit budget of *word*: one for short words, two from six letters."""
    return 1 if len(word) <= 5 else 2


def lexicon_words(lexicon: Lexicon) -> Counter[str]:
    """Each word (lower-cased, accents kept) of the lexicon's preferred names and synonyms, both languages,
    with how many forms use it. Its abbreviations and listed misspellings are not spellings to propose."""
    counts: Counter[str] = Counter()
    for concept in lexicon.concepts.values():
        for side in (concept.fr, concept.en):
            for form in (side.preferred, *side.synonyms):
                counts.update(w.lower() for w in _WORD.findall(form))
    return counts


def index_words(texts: Iterable[str], min_documents: int = 2) -> Counter[str]:
    """Words of *texts* (lower-cased, accents kept) → how many texts contain them, kept from *min_documents*:
    a word written once is as likely a typo of the index as a spelling to propose."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({w.lower() for w in _WORD.findall(text) if len(set(w.lower())) > 1})  # "xxxx": anonymised
    return Counter({w: n for w, n in counts.items() if n >= min_documents})


@dataclass(frozen=True)
class _Entry:
    surface: str
    frequency: int


class SpellingVocabulary:
    """Known words by folded key (« epanchement » → « épanchement »), each with its most frequent written
    form and a frequency (index documents, plus its uses in the lexicon)."""

    def __init__(self, *sources: Mapping[str, int]) -> None:
        forms: dict[str, Counter[str]] = {}
        for source in sources:
            for word, n in source.items():
                forms.setdefault(fold(word), Counter())[word] += n
        self._entries = {key: _Entry(c.most_common(1)[0][0], sum(c.values())) for key, c in forms.items()}
        self._keys = list(self._entries)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, word: str) -> bool:
        return fold(word) in self._entries

    def candidates(self, word: str, limit: int = 3) -> list[str]:
        """The known words within :func:`max_edits` of *word* (accents and case aside: « hemoragie » →
        « hémorragie »; never *word* itself), closest first, then most frequent: up to *limit*."""
        key = fold(word)
        budget = max_edits(key)
        found = process.extract(key, self._keys, scorer=Levenshtein.distance, score_cutoff=budget, limit=None)
        ranked = sorted((distance, -self._entries[k].frequency, k) for k, distance, _ in found
                        if self._entries[k].surface != word.lower())
        return [self._entries[k].surface for _, _, k in ranked[:limit]]


class Speller:
    """The two vocabularies of one engine: the lexicon's (built once) and the index's (read in the background,
    once per generation). A search pays nothing until a query word is unknown to the index, and never waits
    for the index's vocabulary: read from the first misspelled query on (2.5 s for 10,000 reports), the lexicon's words serve
    until it is."""

    def __init__(self, lexicon: Callable[[], Lexicon], texts: Callable[[str], Iterable[str]],
                 max_documents: int = 5_000) -> None:
        self._lexicon = lexicon
        self._texts = texts
        #: the index vocabulary is read from at most this many documents per language (a big index is not
        #: read whole: a spelling worth proposing is frequent, and the read holds the GIL: ~0.25–0.5 ms a
        #: report, so 5,000 × 3 languages is a few seconds of a core, repeated after each new generation)
        self.max_documents = max_documents
        self._public: SpellingVocabulary | None = None
        self._all: SpellingVocabulary | None = None
        self._reading = False
        self._lock = threading.Lock()

    def renew(self) -> None:
        """Another index generation: if the index's vocabulary was read, read it again in the background;
        the previous one serves meanwhile (its candidates are checked against the current index anyway).
        Nothing is read if nothing was."""
        with self._lock:
            built = self._all is not None
        if built:
            self.read_in_background(again=True)

    def read_in_background(self, again: bool = False) -> None:
        """Start reading the index's vocabulary (unless read, or *again*, or a read is under way)."""
        with self._lock:
            if self._reading or (self._all is not None and not again):
                return
            self._reading = True
        threading.Thread(target=self._read_and_keep, name="spelling-vocabulary", daemon=True).start()

    def _read_and_keep(self) -> None:
        try:
            vocabulary = self._read()
            with self._lock:
                self._all = vocabulary
        finally:
            with self._lock:
                self._reading = False

    def _read(self) -> SpellingVocabulary:
        texts = itertools.chain.from_iterable(
            itertools.islice(self._texts(language), self.max_documents) for language in _LANGUAGES)
        return SpellingVocabulary(lexicon_words(self._lexicon()), index_words(texts))

    def vocabulary(self, from_index: bool, wait: bool = True) -> SpellingVocabulary:
        """The lexicon's words, plus the index's with *from_index*: read now with *wait*, else only started
        in the background (the lexicon's words meanwhile)."""
        with self._lock:
            if self._public is None:
                self._public = SpellingVocabulary(lexicon_words(self._lexicon()))
            public, vocabulary = self._public, self._all
        if not from_index or vocabulary is not None:
            return vocabulary if from_index and vocabulary is not None else public
        if not wait:
            self.read_in_background()
            return public
        vocabulary = self._read()
        with self._lock:
            if self._all is None:
                self._all = vocabulary
            return self._all

    def candidates(self, word: str, from_index: bool = True, limit: int = 3) -> list[str]:
        """:meth:`SpellingVocabulary.candidates` of the vocabulary at hand (never waiting for the index's)."""
        return self.vocabulary(from_index, wait=False).candidates(word, limit)


def replace_word(query: str, word: str, replacement: str) -> str:
    """*query* with each whole-word occurrence of *word* replaced (a capitalised word stays capitalised)."""
    pattern = re.compile(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", re.IGNORECASE)

    def cased(match: re.Match[str]) -> str:
        return replacement[:1].upper() + replacement[1:] if match.group()[:1].isupper() else replacement

    return pattern.sub(cased, query)
