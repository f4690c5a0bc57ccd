"""Merge the generated French ↔ English term pairs (``lexicon_icd10.tsv``) into the hand-written lexicon.

Why a merge at load time rather than more YAML: the pairs are rebuilt from packages
(``scripts/build_icd10_lexicon.py``), the hand lexicon is edited by clinicians, and neither must
break the other. The hand lexicon wins every conflict:

* a pair whose French and English keys both already belong to concepts adds nothing;
* a pair with one side known adds the other side as a synonym of that concept (the ICD label
  « Oedème pulmonaire » is already *pulmonary_edema*; its English "pulmonary oedema" joins it);
* a pair with neither side known becomes a concept ``icd10_<code>`` (domain *general*).

Generated words are never targets of typo correction (:func:`Lexicon._correct`): with thousands of
rare disease words, a real word of the query would too often be "corrected" into one of them. They
are still *known* words, so they are never corrected into something else either.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from indexer.clinical.lexicon_model import Concept, LanguageTerms, LexiconFile
from indexer.clinical.text import fold, lexicon_key

Pair = tuple[str, str, str]  # (ICD-10 code, French term, English term)


def read_pairs(path: Path) -> list[Pair]:
    """Rows of the generated TSV (comment lines start with ``#``; the header row is skipped)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return [(code, fr, en) for code, fr, en in rows if code != "code"]


def merge_pairs(data: LexiconFile, pairs: Iterable[Pair]) -> tuple[LexiconFile, set[tuple[str, ...]]]:
    """The lexicon with *pairs* merged in, and the keys the pairs added (kept out of typo correction)."""
    concepts: dict[str, Concept] = {c.id: c for c in data.concepts}
    owner: dict[tuple[str, ...], str] = {}
    for concept in data.concepts:
        for phrase in [*concept.all_terms(), *concept.abbreviations(), *concept.misspellings]:
            owner.setdefault(lexicon_key(phrase), concept.id)
    reserved = {fold(w) for w in [*data.ambiguous_abbreviations, *data.protected_words]}
    added: dict[str, dict[str, list[str]]] = {}  # concept id → language → new synonyms
    new_keys: set[tuple[str, ...]] = set()
    for code, fr, en in pairs:
        fr_key, en_key = lexicon_key(fr), lexicon_key(en)
        if not fr_key or not en_key or fr_key == en_key or {" ".join(fr_key), " ".join(en_key)} & reserved:
            continue
        fr_owner, en_owner = owner.get(fr_key), owner.get(en_key)
        if fr_owner and en_owner:
            continue
        if fr_owner or en_owner:
            target, language, phrase, key = (fr_owner, "en", en, en_key) if fr_owner else (en_owner, "fr", fr, fr_key)
            added.setdefault(target, {}).setdefault(language, []).append(phrase)  # type: ignore[arg-type]
            owner[key] = target  # type: ignore[assignment]
            new_keys.add(key)
            continue
        concept_id = f"icd10_{code.lower()}"
        while concept_id in concepts:
            concept_id += "_b"
        concepts[concept_id] = Concept(id=concept_id, domain="general", icd10=[code],
                                       fr=LanguageTerms(preferred=fr), en=LanguageTerms(preferred=en))
        owner[fr_key] = owner[en_key] = concept_id
        new_keys.update((fr_key, en_key))
    for concept_id, by_language in added.items():
        concept = concepts[concept_id]
        update = {lang: getattr(concept, lang).model_copy(update={"synonyms": [*getattr(concept, lang).synonyms, *extra]})
                  for lang, extra in by_language.items()}
        concepts[concept_id] = concept.model_copy(update=update)
    return data.model_copy(update={"concepts": list(concepts.values())}), new_keys
