"""Bilingual medical lexicon: concept lookup in text and query expansion.

A physician types « IDM » and the report says « infarctus du myocarde »; a French query must find an
English article. :meth:`Lexicon.expand_query` finds the concepts mentioned in a query (longest
multi-word match first, case/accent/plural-insensitive, known misspellings, and — for long words
only — one or two typos) and returns every French and English surface form to OR into the lexical
query. :meth:`Lexicon.find` does the same matching on document text so the indexer can store
concept ids.

Ambiguous abbreviations (« IR » = insuffisance rénale *or* respiratoire, "PE" = pulmonary embolism
*or* pleural effusion) are never resolved silently: every sense is returned, each flagged
``ambiguous`` with the other senses in ``alternatives``, so the UI can say « IR : rénale ou
respiratoire ? ». An ambiguous abbreviation is also never added *as an expansion* of a concept
(searching « embolie pulmonaire » does not add « EP », which would bring back pleural effusions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field
from rapidfuzz.distance import OSA

from indexer.clinical.config import CONFIG_DIR
from indexer.clinical.lexicon_generated import merge_pairs, read_pairs
from indexer.clinical.lexicon_model import Concept, LexiconError, LexiconFile, parse_lexicon
from indexer.clinical.text import Token, fold, lexicon_key, stem, tokenize

__all__ = [
    "ConceptMention",
    "ExpandedTerm",
    "Lexicon",
    "LexiconError",
    "QueryExpansion",
    "load_default_lexicon",
]

DEFAULT_LEXICON_PATH = CONFIG_DIR / "lexicon.yaml"
#: French ↔ English pairs generated from ICD-10 labels (scripts/build_icd10_lexicon.py), merged at load
DEFAULT_GENERATED_PATH = CONFIG_DIR / "lexicon_icd10.tsv"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader parses the file 6x faster

# Kinds of surface form, best first: when one phrase is several kinds for one concept, keep the best.
_KIND_ORDER = ("preferred", "synonym", "abbreviation", "misspelling")


class ExpandedTerm(BaseModel):
    """One concept recognised in a query, and the phrases that express it."""

    source_text: str = Field(description="The query text that was recognised, as typed")
    concept_id: str
    terms: list[str] = Field(description="French and English forms of the concept (no ambiguous abbreviations)")
    ambiguous: bool = False
    alternatives: list[str] = Field(default_factory=list, description="Other concepts the same text may mean")
    narrower: list[str] = Field(default_factory=list, description="More specific concepts whose names are in terms")
    start: int = 0
    end: int = 0
    matched_by: str = Field(default="preferred", description="preferred|synonym|abbreviation|misspelling|fuzzy")


class QueryExpansion(BaseModel):
    """Result of :meth:`Lexicon.expand_query`."""

    query: str
    expanded_terms: list[ExpandedTerm] = Field(default_factory=list)
    extra_phrases: list[str] = Field(
        default_factory=list, description="Phrases to OR into the lexical query (not already in the query)"
    )

    @property
    def concept_ids(self) -> list[str]:
        return list(dict.fromkeys(term.concept_id for term in self.expanded_terms))

    @property
    def ambiguous_sources(self) -> list[str]:
        """Query fragments that have several meanings (for a « did you mean » hint)."""
        return list(dict.fromkeys(t.source_text for t in self.expanded_terms if t.ambiguous))


class ConceptMention(BaseModel):
    """A concept found in a document: ``text[start:end]`` may mean any of ``concept_ids``."""

    start: int
    end: int
    text: str
    concept_ids: list[str]
    ambiguous: bool
    matched_by: str


@dataclass(frozen=True, slots=True)
class _Sense:
    concept_id: str
    kind: str
    needs_upper: bool  # protected abbreviation ("AS", "OR"): only matches when typed in capitals


@dataclass(slots=True)
class _Hit:
    start: int  # token indexes, end exclusive
    end: int
    senses: list[_Sense]
    fuzzy: bool = False


@dataclass(slots=True)
class _Index:
    phrases: dict[tuple[str, ...], list[_Sense]] = field(default_factory=dict)
    vocabulary: dict[int, set[str]] = field(default_factory=dict)  # stemmed word length -> words
    known_words: set[str] = field(default_factory=set)  # every word of every key: never "corrected"
    first_words: set[str] = field(default_factory=set)  # every key's first word: others start no match
    max_len: int = 1


class Lexicon:
    """In-memory lexicon with a token-sequence index; build it with :meth:`load`."""

    def __init__(self, data: LexiconFile, uncorrectable: set[tuple[str, ...]] | frozenset = frozenset()) -> None:
        """*uncorrectable*: phrase keys whose words typo correction must never produce (generated terms)."""
        self.data = data
        self.concepts: dict[str, Concept] = {c.id: c for c in data.concepts}
        protected = {fold(w) for w in data.protected_words}
        self._ambiguous_keys = {_key(a) for a in data.ambiguous_abbreviations}
        self._index = _build_index(data.concepts, protected, uncorrectable)
        self._corrections: dict[str, str | None] = {}
        self._children: dict[str, list[str]] = {}
        for concept in data.concepts:
            for parent in concept.broader:
                self._children.setdefault(parent, []).append(concept.id)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_LEXICON_PATH) -> Lexicon:
        """Read and validate a lexicon YAML file (raises :class:`LexiconError` naming the bad entry)."""
        with open(path, encoding="utf-8") as handle:
            raw = yaml.load(handle, Loader=_YAML_LOADER)
        return cls(parse_lexicon(raw))

    def __len__(self) -> int:
        return len(self.concepts)

    def get(self, concept_id: str) -> Concept:
        return self.concepts[concept_id]

    def narrower(self, concept_id: str) -> list[str]:
        """Concepts that name ``concept_id`` as ``broader`` (one level down)."""
        return list(self._children.get(concept_id, []))

    def expansion_terms(self, concept_id: str) -> list[str]:
        """Every French/English form of a concept, its unambiguous abbreviations, then the preferred
        French and English names and the unambiguous abbreviations of its narrower concepts (a search
        for « fracture » should find « fracture du col du fémur », one for « IDM » the reports that say
        « SCA ST+ » or « NSTEMI »; their synonyms are left out to keep the OR list short)."""
        concept = self.concepts[concept_id]
        terms = concept.all_terms() + self._unambiguous_abbreviations(concept_id)
        for child_id in self.narrower(concept_id):
            child = self.concepts[child_id]
            terms += [child.fr.preferred, child.en.preferred, *self._unambiguous_abbreviations(child_id)]
        return _dedupe(terms)

    def _unambiguous_abbreviations(self, concept_id: str) -> list[str]:
        return [a for a in self.concepts[concept_id].abbreviations() if _key(a) not in self._ambiguous_keys]

    def find(self, text: str, fuzzy: bool = False) -> list[ConceptMention]:
        """Concept mentions in ``text`` (longest match, left to right, non-overlapping)."""
        tokens = tokenize(text)
        mentions = []
        for hit in self._match(text, tokens, fuzzy):
            start, end = tokens[hit.start].start, tokens[hit.end - 1].end
            ids = list(dict.fromkeys(s.concept_id for s in hit.senses))
            mentions.append(
                ConceptMention(
                    start=start,
                    end=end,
                    text=text[start:end],
                    concept_ids=ids,
                    ambiguous=len(ids) > 1,
                    matched_by="fuzzy" if hit.fuzzy else _best_kind(hit.senses),
                )
            )
        return mentions

    def expand_query(self, query: str, fuzzy: bool = True) -> QueryExpansion:
        """Concepts in ``query`` and the phrases to OR into the lexical query.

        An ambiguous match yields one :class:`ExpandedTerm` per sense, all flagged, and the extra
        phrases cover every sense: recall is kept and the ambiguity is visible to the caller.
        """
        expanded: list[ExpandedTerm] = []
        for mention in self.find(query, fuzzy=fuzzy):
            for concept_id in mention.concept_ids:
                expanded.append(
                    ExpandedTerm(
                        source_text=mention.text,
                        concept_id=concept_id,
                        terms=self.expansion_terms(concept_id),
                        ambiguous=mention.ambiguous,
                        alternatives=[c for c in mention.concept_ids if c != concept_id],
                        narrower=self.narrower(concept_id),
                        start=mention.start,
                        end=mention.end,
                        matched_by=mention.matched_by,
                    )
                )
        query_keys = {_key(t.source_text) for t in expanded}
        extra = [p for t in expanded for p in t.terms if _key(p) not in query_keys]
        return QueryExpansion(query=query, expanded_terms=expanded, extra_phrases=_dedupe(extra))

    def _match(self, text: str, tokens: list[Token], fuzzy: bool) -> list[_Hit]:
        index = self._index
        norms = [stem(t.norm) for t in tokens]
        corrected = [False] * len(norms)
        if fuzzy:
            for i, norm in enumerate(norms):
                if norm in index.known_words:
                    continue
                if norm not in self._corrections:
                    self._corrections[norm] = _correct(norm, index.vocabulary)
                fixed = self._corrections[norm]
                if fixed is not None:
                    norms[i], corrected[i] = fixed, True
        hits: list[_Hit] = []
        i = 0
        while i < len(tokens):
            hit = None
            if norms[i] in index.first_words and not tokens[i].is_punct:
                for length in range(min(index.max_len, len(tokens) - i), 0, -1):
                    senses = index.phrases.get(tuple(norms[i : i + length]))
                    if senses:
                        surface = text[tokens[i].start : tokens[i + length - 1].end]
                        senses = [s for s in senses if not s.needs_upper or surface.isupper()]
                    if senses:
                        hit = _Hit(i, i + length, senses, any(corrected[i : i + length]))
                        break
            if hit is None:
                i += 1
            else:
                hits.append(hit)
                i = hit.end
        return hits


@lru_cache(maxsize=4)
def _load_default(path: str, generated: str | None) -> Lexicon:
    if generated is None:
        return Lexicon.load(path)
    with open(path, encoding="utf-8") as handle:
        hand = parse_lexicon(yaml.load(handle, Loader=_YAML_LOADER))
    data, new_keys = merge_pairs(hand, read_pairs(Path(generated)))
    return Lexicon(data, new_keys)


def load_default_lexicon(
    path: str | Path = DEFAULT_LEXICON_PATH, generated: str | Path | None = DEFAULT_GENERATED_PATH
) -> Lexicon:
    """The lexicon at ``path`` with the generated ICD-10 pairs merged in (``generated=None``: the hand
    lexicon alone), loaded once per process (index and query time share it)."""
    use_generated = generated is not None and Path(generated).is_file()
    return _load_default(str(Path(path).resolve()), str(Path(generated).resolve()) if use_generated else None)


def _key(phrase: str) -> tuple[str, ...]:
    return lexicon_key(phrase)


def _dedupe(phrases: list[str]) -> list[str]:
    seen: set[tuple[str, ...]] = set()
    result = []
    for phrase in phrases:
        key = _key(phrase)
        if key and key not in seen:
            seen.add(key)
            result.append(phrase)
    return result


def _best_kind(senses: list[_Sense]) -> str:
    return min((s.kind for s in senses), key=_KIND_ORDER.index)


def _build_index(concepts: list[Concept], protected: set[str], uncorrectable: set[tuple[str, ...]] | frozenset = frozenset()) -> _Index:
    index = _Index()
    for concept in concepts:
        forms = [
            ("preferred", [concept.fr.preferred, concept.en.preferred]),
            ("synonym", concept.fr.synonyms + concept.en.synonyms),
            ("abbreviation", concept.abbreviations()),
            ("misspelling", concept.misspellings),
        ]
        for kind, phrases in forms:
            for phrase in phrases:
                key = _key(phrase)
                needs_upper = kind == "abbreviation" and fold(phrase) in protected
                senses = index.phrases.setdefault(key, [])
                if any(s.concept_id == concept.id for s in senses):
                    continue  # already indexed with a better kind
                senses.append(_Sense(concept.id, kind, needs_upper))
                index.max_len = max(index.max_len, len(key))
                index.known_words.update(key)
                index.first_words.update(key[:1])
                if kind in ("preferred", "synonym") and key not in uncorrectable:
                    for word in key:
                        if word.isalpha():
                            index.vocabulary.setdefault(len(word), set()).add(word)
    return index


def _correct(word: str, vocabulary: dict[int, set[str]]) -> str | None:
    """The unique closest lexicon word (from preferred terms and synonyms) to an unknown long ``word``.

    None when no word is close enough or several are equally close. Only words of 7+ letters are
    corrected (1 edit; 2 edits from 10 letters): short words are too often real, different words.
    The first letter must match: typos rarely touch it, and without the rule the real word
    "indwelling" was "corrected" to "swelling" (so "indwelling catheter" required *edema*).
    """
    if len(word) < 7 or not word.isalpha() or word in vocabulary.get(len(word), ()):
        return None
    budget = 1 if len(word) < 10 else 2
    best: list[str] = []
    best_distance = budget + 1
    for length in range(len(word) - budget, len(word) + budget + 1):
        for candidate in vocabulary.get(length, ()):
            if candidate[0] != word[0]:
                continue
            distance = _edit_distance(word, candidate, best_distance)
            if distance < best_distance:
                best, best_distance = [candidate], distance
            elif distance == best_distance:
                best.append(candidate)
    return best[0] if len(best) == 1 else None


def _edit_distance(a: str, b: str, cutoff: int) -> int:
    """Optimal-string-alignment distance (swaps count as one edit), ``cutoff + 1`` past ``cutoff``.

    Why rapidfuzz: the same distance in C++ (bit-parallel), ~50x cheaper than the Python dynamic
    programme it replaces; an unknown word is compared with every lexicon word of a close length."""
    return OSA.distance(a, b, score_cutoff=cutoff)
