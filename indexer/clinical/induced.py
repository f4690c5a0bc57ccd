"""French → English word translations induced from the multilingual encoder, for query words nothing else knows.

Why: the cognate rules reach words that share a root with their translation, the ICD-10 alignment the words
its labels use; a French query word with neither (« coupole » / hemidiaphragm, « trame » / markings,
« entonnoir » / funnel) was searched as typed, and English reports never contain it. The shipped encoder
(multilingual-e5-small) places a French word near its English translation, so the index's own English
vocabulary (its words and frequent two-word phrases) is embedded once per index generation and a free
query word takes its nearest English entry, when that entry stands out.

"Stands out" is CSLS (cross-domain similarity local scaling, Conneau et al. 2018, "Word translation
without parallel data"): ``2·cos(x, y) − r(x) − r(y)``, where ``r`` is a side's mean cosine with its *k*
nearest vocabulary entries. Single-word embeddings of a small encoder are all close to one another (a
cosine of 0.85 means little) and some entries are near everything (hubs); CSLS discounts both. An entry
is proposed when its CSLS is at least :attr:`InducedTranslator.min_csls`; the caller validates it like a
cognate (:class:`~indexer.clinical.cognates.CognateTranslator`: passages of English documents contain it,
more than contain the word as typed).

Nothing here names a word or a finding: the encoder and the index decide.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.clinical.text import fold
from indexer.text.analyzers import terms

__all__ = ["InducedTranslator", "Vocabulary", "build_vocabulary", "english_vocabulary"]

_WORD = re.compile(r"[^\W\d_]+")
MIN_LETTERS = 3


def english_vocabulary(texts: Iterable[str], min_documents: int = 5, max_entries: int = 20_000) -> dict[str, int]:
    """Folded English words and two-word phrases → how many of *texts* contain them, kept when at
    least *min_documents* do (the *max_entries* most frequent).

    A word counts when the English analyser keeps it (not a stop word) and has ≥ 3 letters; a phrase
    is two such words next to each other ("volume loss", "pleural effusion"): the translation of a
    French word is sometimes two English words."""
    counts: Counter[str] = Counter()
    for text in texts:
        seen: set[str] = set()
        folded = fold(text)
        previous, previous_end = None, -1
        for match in _WORD.finditer(folded):
            word = match.group()
            if len(word) < MIN_LETTERS or len(set(word)) == 1 or not terms(word, "en"):  # "xxxx": anonymised
                previous = None
                continue
            seen.add(word)
            if previous is not None and folded[previous_end:match.start()] == " ":  # adjacent, no punctuation
                seen.add(f"{previous} {word}")
            previous, previous_end = word, match.end()
        counts.update(seen)
    kept = [(entry, n) for entry, n in counts.most_common() if n >= min_documents]
    return dict(kept[:max_entries])


@dataclass(frozen=True)
class Vocabulary:
    """An index's English entries with their (L2-normalised) vectors and each entry's hubness ``r(y)``."""

    entries: tuple[str, ...]
    vectors: np.ndarray  # (n, dim) float32, unit rows
    hubness: np.ndarray  # (n,) mean cosine of each entry with its k nearest other entries
    k: int

    def neighbourhood(self, vector: np.ndarray) -> tuple[np.ndarray, float]:
        """(cosine of *vector* with every entry, its mean cosine with its k nearest entries)."""
        cosines = self.vectors @ np.asarray(vector, dtype=np.float32).reshape(-1)
        k = min(self.k, cosines.size)
        return cosines, float(np.partition(cosines, -k)[-k:].mean()) if k else 0.0


def build_vocabulary(entries: Sequence[str], embed: Callable[[list[str]], np.ndarray], k: int = 10,
                     chunk: int = 1024) -> Vocabulary:
    """Embed *entries* and compute each one's hubness (mean cosine with its *k* nearest others), in
    row chunks so memory stays at chunk × n floats."""
    entries = tuple(entries)
    if not entries:
        return Vocabulary((), np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32), k)
    vectors = np.ascontiguousarray(embed(list(entries)), dtype=np.float32)
    n = len(entries)
    kk = min(k, n - 1)
    hubness = np.zeros(n, dtype=np.float32)
    if kk > 0:
        for start in range(0, n, chunk):
            block = vectors[start:start + chunk] @ vectors.T
            rows = np.arange(block.shape[0])
            block[rows, rows + start] = -np.inf  # not its own neighbour
            hubness[start:start + chunk] = np.partition(block, -kk, axis=1)[:, -kk:].mean(axis=1)
    return Vocabulary(entries, vectors, hubness, k)


class InducedTranslator:
    """English translations of French words proposed by the encoder's nearest neighbours (unvalidated).

    *texts* yields the English documents' texts of the current index generation, *embed* embeds a list
    of strings (the search encoder's query role, for the words and the vocabulary alike). The vocabulary
    is built on first use and memoised until :meth:`clear` (a new generation); each word is memoised.
    """

    def __init__(
        self,
        embed: Callable[[list[str]], np.ndarray],
        texts: Callable[[], Iterable[str]],
        min_csls: float = 0.05,
        min_documents: int = 5,
        k: int = 10,
        max_forms: int = 1,
        max_documents: int = 50_000,
    ) -> None:
        self._embed = embed
        self._texts = texts
        self.min_csls = min_csls
        self.min_documents = min_documents
        self.k = k
        self.max_forms = max_forms
        #: the vocabulary is read from at most this many English documents (the frequent words a query's
        #: translation must be among are all in the first tens of thousands; a big index is not read whole)
        self.max_documents = max_documents
        self._vocabulary: Vocabulary | None = None
        self._memo: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._building = threading.Lock()  # one build at a time

    def clear(self) -> None:
        """Forget the vocabulary and the words (another index generation)."""
        with self._lock:
            self._vocabulary = None
            self._memo.clear()

    def forget_words(self) -> None:
        """Forget the words' answers, keep the embedded vocabulary (after changing :attr:`min_csls`)."""
        with self._lock:
            self._memo.clear()

    def renew(self) -> None:
        """Another index generation: forget the words now and rebuild the vocabulary in the background.
        Until it is swapped in, the previous vocabulary serves: its proposals are validated against the
        current index anyway, and no query waits seconds for a rebuild. Nothing is built if nothing was."""
        with self._lock:
            self._memo.clear()
            built = self._vocabulary is not None
        if built:
            threading.Thread(target=self._rebuild, name="induced-vocabulary", daemon=True).start()

    def _rebuild(self) -> None:
        vocabulary = self._build()
        with self._lock:
            self._vocabulary = vocabulary
            self._memo.clear()

    def _build(self) -> Vocabulary:
        with self._building:
            return self._read()

    def _read(self) -> Vocabulary:
        texts = itertools.islice(self._texts(), self.max_documents)
        return build_vocabulary(list(english_vocabulary(texts, self.min_documents)), self._embed, self.k)

    def vocabulary(self) -> Vocabulary:
        """The embedded vocabulary (built on first use: ~5 s for Open-i's 3,927 reports on 2 cores)."""
        vocabulary = self._vocabulary
        if vocabulary is None:
            with self._building:
                vocabulary = self._vocabulary
                if vocabulary is None:
                    vocabulary = self._read()
                    with self._lock:
                        self._vocabulary = vocabulary
        return vocabulary

    def scored(self, word: str, top: int = 5) -> list[tuple[str, float, float]]:
        """(entry, CSLS, cosine) of *word*'s *top* entries by CSLS, best first (for reports and tests)."""
        vocabulary = self.vocabulary()
        if not vocabulary.entries:
            return []
        vector = self._embed([word])[0]
        cosines, r_word = vocabulary.neighbourhood(vector)
        csls = 2 * cosines - r_word - vocabulary.hubness
        typed = fold(word.lower())
        order = np.argsort(-csls)
        out = []
        for i in order:
            entry = vocabulary.entries[int(i)]
            if typed in entry.split():
                continue  # the word itself (an English word typed in the query), or a phrase containing it
            out.append((entry, float(csls[i]), float(cosines[i])))
            if len(out) == top:
                break
        return out

    def __call__(self, word: str) -> tuple[str, ...]:
        key = word.lower()
        found = self._memo.get(key)
        if found is None:
            found = tuple(entry for entry, csls, _ in self.scored(key, self.max_forms) if csls >= self.min_csls)
            with self._lock:
                self._memo[key] = found
        return found
