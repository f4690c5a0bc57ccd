"""Pseudo-relevance feedback: a second pass built from the first pass's best results (#14 item 5).

Why: the dense leg is cross-lingual (a French query finds English reports), the lexical leg is not for
the words the lexicon, the cognates and the ICD-10 word table do not know (« coupole », « trame »).
The first pass's top results are mostly relevant; the words that tell them apart from the rest of the
index ("hemidiaphragm", "markings") are what the lexical leg is missing. Two levers:

* lexical (RM3-like): each candidate word's weight is its mean relative frequency over the feedback
  passages (P(t|R) with uniform P(d)) times its idf in the index, from the backend's own passage counts
  (:meth:`~indexer.backend.base.IndexBackend.term_passage_counts`); a word in fewer than
  ``min_documents`` feedback passages, a stop word, or a word of the query itself is left out. The
  best ``limit`` are searched with the query (:meth:`IndexBackend.lexical_search_expanded`), the best
  at ``weight``, the others in proportion (a typed word weighs 1).
* dense (Rocchio): the query vector plus ``weight`` × the mean of the feedback passages' vectors,
  renormalised (:func:`rocchio`).

Nothing here names a word: the candidates come from the index's own passages.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from indexer.backend.base import reading_searched
from indexer.text.analyzers import LANGUAGES, terms

#: words of ≥ 3 letters (numbers, doses and identifiers are no feedback)
_WORD = re.compile(r"[^\W\d_]{3,}")
_MAX_MEMO = 200_000


def words(text: str) -> list[str]:
    """*text*'s words of three letters or more, lower-cased, as written (accents kept)."""
    return [w.lower() for w in _WORD.findall(text)]


def searched_text(text: str, mentions: str | None, statuses: Iterable[str]) -> str:
    """*text* without its spans of a status the query does not search (``mentions``: the passage's
    stored :func:`~indexer.clinical.mentions.mention_index`): "No pneumothorax." in every normal report
    is no evidence for "pneumothorax"."""
    if not mentions:
        return text
    try:
        spans = json.loads(mentions).get("c", [])
    except (ValueError, AttributeError):
        return text
    kept = set(statuses)
    out, cursor = [], 0
    for start, end, status in sorted(spans):
        if reading_searched(status, kept) or status == "affirmed" or start < cursor:
            continue
        out.append(text[cursor:start])
        cursor = end
    out.append(text[cursor:])
    return " ".join(out)


def query_stems(texts: Iterable[str]) -> frozenset[str]:
    """Every analysed term of *texts* in every analysis: a feedback word with one of them is the query's own."""
    return frozenset(t for text in texts for lang in LANGUAGES for t in terms(text, lang))


class TermStatistics:
    """Passage counts of words per language (the idf of feedback words), memoised until :meth:`clear`
    (a new generation). *counts* is :meth:`IndexBackend.term_passage_counts`, *total* the index's
    passage count."""

    def __init__(self, counts: Callable[[Sequence[str], str], Mapping[str, int]], total: Callable[[], int]) -> None:
        self._counts, self._total = counts, total
        self._memo: dict[tuple[str, str], int] = {}
        self._n: int | None = None
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()
            self._n = None

    def total(self) -> int:
        if self._n is None:
            self._n = max(1, int(self._total()))
        return self._n

    def passages(self, candidates: Sequence[str], language: str) -> dict[str, int]:
        with self._lock:
            missing = [w for w in candidates if (language, w) not in self._memo]
        found = dict(self._counts(missing, language)) if missing else {}
        with self._lock:
            if len(self._memo) > _MAX_MEMO:
                self._memo.clear()
            self._memo.update(((language, w), int(n)) for w, n in found.items())
            return {w: self._memo.get((language, w), found.get(w, 0)) for w in candidates}


def expansion_terms(
    passages: Sequence[tuple[str, str]],
    exclude: frozenset[str],
    statistics: TermStatistics,
    limit: int = 10,
    weight: float = 0.3,
    min_documents: int = 2,
) -> list[tuple[str, float]]:
    """The feedback words of *passages* (``(text, language)``, best result first), best first, each with
    its weight: ``weight`` for the best, in proportion for the others. A word is grouped with its
    inflections by the analyser of its passage's language and written as its most frequent form."""
    if not passages or limit <= 0 or weight <= 0:
        return []
    share: Counter[tuple[str, tuple[str, ...]]] = Counter()  # (language, stems) → Σ P(t|d) / |R|
    seen_in: Counter[tuple[str, tuple[str, ...]]] = Counter()
    surface: dict[tuple[str, tuple[str, ...]], Counter[str]] = {}
    for text, language in passages:
        tokens = words(text)
        if not tokens:
            continue
        keyed = Counter()
        for token in tokens:
            stems = tuple(terms(token, language))
            if not stems or any(s in exclude for s in stems):
                continue
            key = (language, stems)
            keyed[key] += 1
            surface.setdefault(key, Counter())[token] += 1
        for key, count in keyed.items():
            share[key] += count / len(tokens) / len(passages)
            seen_in[key] += 1
    candidates = [key for key in share if seen_in[key] >= min(min_documents, len(passages))]
    if not candidates:
        return []
    total = statistics.total()
    scored: list[tuple[float, str]] = []
    for language in {key[0] for key in candidates}:
        keys = [key for key in candidates if key[0] == language]
        forms = {key: surface[key].most_common(1)[0][0] for key in keys}
        counts = statistics.passages(sorted(set(forms.values())), language)
        for key in keys:
            # at least the feedback passages that have it: a document of no analysed language ("und") is
            # in no language's count
            df = max(counts.get(forms[key], 0), seen_in[key])
            scored.append((share[key] * math.log(1 + total / df), forms[key]))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    best: dict[str, float] = {}
    for score, form in scored:
        if form not in best:
            best[form] = score
        if len(best) == limit:
            break
    if not best:
        return []
    top = max(best.values())
    return [(form, round(weight * score / top, 6)) for form, score in best.items()]


def rocchio(query: np.ndarray, vectors: np.ndarray, weight: float) -> np.ndarray:
    """``query + weight · mean(vectors)``, L2-normalised (the query unchanged without vectors)."""
    if vectors is None or not len(vectors) or weight <= 0:
        return query
    moved = np.asarray(query, dtype=np.float32).ravel() + weight * np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(moved))
    return (moved / norm).astype(np.float32) if norm > 0 else query
