"""Context cues that are part of a concept's name: « infarctus sans sus-décalage du segment ST ».

Why: the NSTEMI's French name holds « sans », the migraine's « sans aura », the CT's « scanner sans
injection », ICD-10's "acquired absence of kidney" or « chondrocalcinose familiale ». Read as an
ordinary cue, the « sans » of « Syndrome coronarien aigu sans sus-décalage du segment ST, nécrose
myocardique (NSTEMI) » opened a forward scope that ran past the comma, so « nécrose myocardique » and
« NSTEMI » were indexed as negated: the letter matched « sans infarctus du myocarde » and a cohort of
affirmed infarctions missed the patient.

The rule (NegEx's pseudo-triggers, applied to the lexicon's names): a cue that lies inside a recognised
lexicon form, after at least one of its words, does not open a scope *beyond that form*. A name that
starts with its cue (« sans anomalie », "no abnormality", « absence de mamelon ») is a negated finding
itself and heads lists as any cue does (« absence d'anomalie ou d'épanchement »): left as it was. Inside the name its words keep the status the cue
gives them (« sus-décalage » stays negated in the NSTEMI's name), on purpose: the query side searches
such a name as its affirmed part and its negated part (:func:`search_api.query_plan.searchable_form`),
and an STEMI query (« sus-décalage du segment ST ») must not find the NSTEMI's name in affirmed text.
Nor does such a cue end the scope of an earlier cue (« pas de migraine sans aura, ... »): it is a word
of a name, not a new clause.

A form is recognised as the lexicon recognises it (:func:`~indexer.clinical.text.lexicon_key`: folded,
plural and gender folded), around the cue's own position; only the forms that hold a cue of the text's
language are looked for (a few dozen among the lexicon's thousands), and only where that cue was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

from indexer.clinical.config import CompiledLanguage
from indexer.clinical.text import Token, stem, tokenize

__all__ = ["NameCue", "cue_forms", "named_cue_bounds"]


class _CueMatch(Protocol):  # indexer.clinical.context._Match: token indexes, end exclusive, and its rule
    start: int
    end: int

    @property
    def rule(self): ...  # noqa: ANN201 - indexer.clinical.config.Rule


#: (lexicon key of a form, index of the cue's first token in it)
NameCue = tuple[tuple[str, ...], int]

_TABLES: dict[int, tuple[CompiledLanguage, dict[str, list[NameCue]]]] = {}


def cue_forms(rules: CompiledLanguage, find: "_Finder", forms: Sequence[str] | None = None) -> dict[str, list[NameCue]]:
    """Trigger phrase → the lexicon forms that hold it, as (lexicon key, cue offset), longest first.

    *find*: the context matcher (``indexer.clinical.context._find_matches``), so a form's cue is found
    exactly as in a text; *forms*: the lexicon's forms (default: every form of the default lexicon).
    Cached per trigger set when *forms* is None."""
    cached = _TABLES.get(id(rules))
    if forms is None and cached is not None and cached[0] is rules:
        return cached[1]
    table: dict[str, list[NameCue]] = {}
    for tokens, key in _tokenized_forms() if forms is None else _tokenized(tuple(forms)):
        for match in find(tokens, rules):
            if match.rule.role == "trigger" and match.start > 0:  # words of the name before the cue
                entries = table.setdefault(match.rule.phrase, [])
                if (key, match.start) not in entries:
                    entries.append((key, match.start))
    for entries in table.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    if forms is None:
        _TABLES[id(rules)] = (rules, table)
    return table


class _Finder(Protocol):
    def __call__(self, tokens: list[Token], rules: CompiledLanguage) -> Sequence[_CueMatch]: ...


def named_cue_bounds(
    tokens: list[Token], matches: Sequence[_CueMatch], table: dict[str, list[NameCue]]
) -> dict[int, tuple[int, int]]:
    """``id(match)`` → token range ``[start, end)`` of the lexicon form that holds it, for each trigger
    of *matches* (one sentence's) that lies inside a form; the longest form wins."""
    bounds: dict[int, tuple[int, int]] = {}
    stems: list[str | None] = [None] * len(tokens)

    def stem_at(i: int) -> str:
        value = stems[i]
        if value is None:
            value = stems[i] = stem(tokens[i].norm)
        return value

    for m in matches:
        entries = table.get(m.rule.phrase) if m.rule.role == "trigger" else None
        for key, offset in entries or ():
            first = m.start - offset
            if first < 0 or first + len(key) > len(tokens):
                continue
            if all(stem_at(first + k) == word for k, word in enumerate(key)):
                bounds[id(m)] = (first, first + len(key))
                break
    return bounds


@lru_cache(maxsize=1)
def _tokenized_forms() -> list[tuple[list[Token], tuple[str, ...]]]:
    """:func:`_tokenized` of the default lexicon's forms: tokenised once for both languages' tables
    (~0.3 s of the first context analysis of a process, each language's table then ~0.01 s)."""
    return _tokenized(tuple(_lexicon_forms()))


def _tokenized(forms: tuple[str, ...]) -> list[tuple[list[Token], tuple[str, ...]]]:
    """(tokens, lexicon key) of each multi-word form: a one-word name is its cue or holds none."""
    out = []
    for form in dict.fromkeys(forms):
        tokens = tokenize(form)
        if len(tokens) >= 2:
            out.append((tokens, tuple(stem(t.norm) for t in tokens)))
    return out


def _lexicon_forms() -> list[str]:
    """Every name, synonym, abbreviation and misspelling of the default lexicon (ICD-10 pairs merged)."""
    from indexer.clinical.lexicon import load_default_lexicon  # the lexicon is loaded when first needed

    forms: list[str] = []
    for concept in load_default_lexicon().concepts.values():
        forms += [*concept.all_terms(), *concept.abbreviations(), *concept.misspellings]
    return forms
