"""French → English word translations from an installed bilingual dictionary (dictd format), read at run time.

Why: the cognate rules reach words that share a root with their English translation, the ICD-10 labels the
words diseases use; a general word of a radiology query that neither knows (« ombre » / shadow, « graisse »
/ fat, « entonnoir » / funnel, « mamelonnaire » → « mamelon » / nipple) stays French, and no offline
French → English translation model exists (docs: /work/shared/MODELS.md). Debian ships FreeDict's
French → English dictionary (``apt-get install dict-freedict-fra-eng``: ~8,500 headwords, dictd files under
``/usr/share/dictd/``). It is GPL-2+, the project Apache-2.0: nothing of it is copied into the repository,
it is read from the installed package when present (``search.dictionary_path``), and the lever is off when
it is absent.

A headword is a lemma (masculine singular, infinitive), a query word an inflected form: :func:`lemma_forms`
spells the plausible lemmas (« surélevée » → « surélevé », « surélever »; « chirurgicales » → « chirurgical »)
and, for a relational adjective the dictionary lacks, the noun it derives from (« mamelonnaire » → « mamelon »:
English says "nipple shadow" where French says « ombre mamelonnaire »). Translations are proposals only: like a
cognate, one is searched when the index's English documents use it
(:class:`~indexer.clinical.cognates.CognateTranslator`), and only for a word nothing else translates.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path

from indexer.clinical.text import fold

__all__ = ["DEFAULT_PATH", "DictionaryTranslator", "dictd_entries", "lemma_forms", "read_dictd"]

#: the Debian package's files, without their ``.index`` / ``.dict.dz`` suffixes
DEFAULT_PATH = Path("/usr/share/dictd/freedict-fra-eng")
MAX_WORDS = 3  # a translation longer than this is a gloss ("make a stroke"), not a word to search
MAX_SENSES = 2  # later senses of a general dictionary drift away from the first (« abaisser » → "write down")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SENSE_NUMBER = re.compile(r"^\d+\.\s*")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^]]*\]")
_TRANSLATION = re.compile(r"^[a-z][a-z' -]*$")
_ARTICLES = ("to ", "a ", "an ", "the ")

#: inflected ending → the lemma's ending (plural, feminine, past participle → infinitive)
INFLECTIONS: tuple[tuple[str, str], ...] = (
    ("aux", "al"), ("s", ""), ("x", ""),
    ("ée", "é"), ("ée", "er"), ("é", "er"), ("ie", "i"), ("ie", "ir"), ("ue", "u"),
    ("elle", "el"), ("enne", "en"), ("euse", "eux"), ("ive", "if"), ("ère", "er"), ("e", ""),
)
#: relational adjective ending → the noun's ending (« mamelonnaire » → « mamelon », « vertébral » → « vertèbre »)
DENOMINAL: tuple[tuple[str, str], ...] = (
    ("onnaire", "on"), ("aire", ""), ("aire", "e"), ("ique", "ie"), ("ique", "e"), ("ique", ""),
    ("al", "e"), ("al", ""), ("eux", "e"), ("eux", ""), ("ien", "e"), ("ien", ""),
)


def _number(text: str) -> int:
    value = 0
    for char in text:
        value = value * 64 + _B64.index(char)
    return value


def _translations(body: str) -> list[str]:
    """The English words of one dictd entry, first sense first (its first line is the headword's)."""
    out: list[str] = []
    senses = [_SENSE_NUMBER.sub("", line.strip()) for line in body.splitlines()[1:] if line.strip()]
    for sense in senses[:MAX_SENSES]:
        for part in re.split(r"[,;]", _PARENTHESES.sub("", sense)):
            words = part.strip().lower()
            for article in _ARTICLES:
                words = words.removeprefix(article)
            if words and _TRANSLATION.match(words) and len(words.split()) <= MAX_WORDS:
                out.append(words)
    return out


def dictd_entries(base: str | Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each entry of the dictd dictionary at *base* as (headword, lower-cased with its accents, its English
    translations first sense first), in index order; entries without a usable translation are left out.
    *base*``.index`` is dictd's tab-separated index of (headword, base-64 offset, base-64 length) into
    *base*``.dict.dz`` (dictzip, i.e. gzip-compatible) or *base*``.dict``. Empty when the files are absent."""
    base = Path(base)
    index, packed, plain = (base.with_name(base.name + suffix) for suffix in (".index", ".dict.dz", ".dict"))
    if not index.is_file() or not (packed.is_file() or plain.is_file()):
        return []
    data = gzip.decompress(packed.read_bytes()) if packed.is_file() else plain.read_bytes()
    out: list[tuple[str, tuple[str, ...]]] = []
    for line in index.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) != 3 or fields[0].startswith("00database"):
            continue
        start, length = _number(fields[1]), _number(fields[2])
        body = data[start:start + length].decode("utf-8", errors="replace")
        headword = body.split("\n", 1)[0].split(" /", 1)[0].split(" <", 1)[0].strip().lower()
        if headword and (found := _translations(body)):
            out.append((headword, tuple(found)))
    return out


def read_dictd(base: str | Path) -> dict[str, tuple[str, ...]]:
    """Folded French headword → its English translations (:func:`dictd_entries`, the entries of one folded
    headword merged). Empty when the files are absent."""
    table: dict[str, list[str]] = {}
    for headword, found in dictd_entries(base):
        table.setdefault(fold(headword), []).extend(found)
    return {word: tuple(dict.fromkeys(found)) for word, found in table.items()}


def _rewrites(word: str, rules: tuple[tuple[str, str], ...], min_stem: int = 3) -> list[str]:
    """*word* (folded) with each matching rule's ending replaced (the rules' endings folded too)."""
    out = []
    for ending, replacement in rules:
        ending, replacement = fold(ending), fold(replacement)
        if word.endswith(ending) and len(word) - len(ending) >= min_stem:
            out.append(word[: -len(ending)] + replacement)
    return out


def lemma_forms(word: str, denominal: bool = True) -> list[str]:
    """Folded forms *word* may have as a dictionary headword, most likely first: as typed, its lemmas
    (plural, feminine, participle undone), then (*denominal*) the nouns a relational adjective derives from."""
    folded = fold(word.strip().lower())
    lemmas = [folded]
    for form in [folded, *_rewrites(folded, INFLECTIONS[:3])]:  # the singular first, then its masculine / infinitive
        lemmas += [form, *_rewrites(form, INFLECTIONS[3:])]
    nouns = [noun for form in lemmas for noun in _rewrites(form, DENOMINAL, min_stem=4)] if denominal else []
    return [form for form in dict.fromkeys([*lemmas, *nouns]) if len(form) >= 3]


@lru_cache(maxsize=2)
def _table(path: str) -> dict[str, tuple[str, ...]]:
    return read_dictd(path)


class DictionaryTranslator:
    """A French word's English translations from the dictionary at *path*: those of its first lemma form
    that is a headword (:func:`lemma_forms`; *denominal* False: not the nouns adjectives derive from); the
    files are read once per path, on first use."""

    def __init__(self, path: str | Path = DEFAULT_PATH, denominal: bool = True) -> None:
        self.path = Path(path)
        self.denominal = denominal

    @property
    def available(self) -> bool:
        return bool(_table(str(self.path)))

    def __call__(self, word: str) -> tuple[str, ...]:
        table = _table(str(self.path))
        for form in lemma_forms(word, self.denominal) if table else ():
            if found := table.get(form):
                return found
        return ()
