"""Pydantic models and validation for ``indexer/configs/clinical/lexicon.yaml``.

The lexicon is edited by hand by clinicians and engineers, so a bad entry must be reported by its
concept id (« concept 'pulmonary_embolism': fr.preferred: field required »), not as a pydantic
location such as ``concepts.57.fr``. Cross-entry rules are checked here too:

* concept ids are unique, and ``broader`` only names existing concepts (without cycles);
* a preferred term or synonym belongs to one concept only (two concepts sharing « infarctus » would
  be an accidental ambiguity);
* an abbreviation shared by several concepts (« IR », "PE") is allowed only if it is declared in
  ``ambiguous_abbreviations`` — ambiguity has to be a reviewed decision — and every declared one must
  really be shared.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from indexer.clinical.text import lexicon_key as token_key


class Domain(str, Enum):
    """Clinical specialty a concept is filed under (used for review and statistics only)."""

    CARDIOLOGY = "cardiology"
    NEUROLOGY = "neurology"
    PNEUMOLOGY = "pneumology"
    ONCOLOGY = "oncology"
    ORTHOPAEDICS = "orthopaedics"
    RADIOLOGY = "radiology"
    DIGESTIVE = "digestive"
    NEPHROLOGY = "nephrology"
    ENDOCRINOLOGY = "endocrinology"
    VASCULAR = "vascular"
    INFECTIOUS = "infectious"
    GENERAL = "general"


class LexiconError(ValueError):
    """The lexicon file is invalid; the message names the faulty entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LanguageTerms(_Strict):
    """Surface forms of a concept in one language."""

    preferred: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)
    abbreviations: list[str] = Field(default_factory=list)

    @field_validator("preferred", "synonyms", "abbreviations")
    @classmethod
    def _has_words(cls, value: Any) -> Any:
        for phrase in [value] if isinstance(value, str) else value:
            if not token_key(phrase):
                raise ValueError(f"{phrase!r} contains no word")
        return value


class Concept(_Strict):
    """One clinical concept with its French and English vocabulary."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case, stable: used in eval files")
    domain: Domain
    fr: LanguageTerms
    en: LanguageTerms
    misspellings: list[str] = Field(default_factory=list, description="Typos seen in reports and queries")
    icd10: list[str] = Field(default_factory=list)
    broader: list[str] = Field(
        default_factory=list, description="More general concepts: « AVC » also finds « AVC ischémique »"
    )

    def all_terms(self) -> list[str]:
        """Preferred terms and synonyms, both languages (what a query expands to)."""
        return [self.fr.preferred, *self.fr.synonyms, self.en.preferred, *self.en.synonyms]

    def abbreviations(self) -> list[str]:
        return [*self.fr.abbreviations, *self.en.abbreviations]


class LexiconFile(_Strict):
    """Root of ``lexicon.yaml`` (after per-concept validation)."""

    version: int = 1
    ambiguous_abbreviations: list[str] = Field(default_factory=list)
    protected_words: list[str] = Field(
        default_factory=list,
        description="Abbreviations that are also common words ('AS', 'OR'): matched only when upper case",
    )
    concepts: list[Concept]


def parse_lexicon(raw: Any) -> LexiconFile:
    """Validate a parsed YAML document; raise :class:`LexiconError` naming the faulty entry."""
    if not isinstance(raw, dict) or not isinstance(raw.get("concepts"), list):
        raise LexiconError("lexicon must be a mapping with a 'concepts' list")
    concepts = [_parse_concept(index, entry) for index, entry in enumerate(raw["concepts"])]
    try:
        lexicon = LexiconFile.model_validate({**raw, "concepts": concepts})
    except ValidationError as error:
        raise LexiconError(f"lexicon header: {_first_error(error)}") from error
    _check_cross_entries(lexicon)
    return lexicon


def _parse_concept(index: int, entry: Any) -> Concept:
    name = entry.get("id") if isinstance(entry, dict) else None
    label = f"concept {name!r}" if name else f"concept #{index} (no id)"
    try:
        return Concept.model_validate(entry)
    except ValidationError as error:
        raise LexiconError(f"{label}: {_first_error(error)}") from error


def _first_error(error: ValidationError) -> str:
    details = error.errors()
    parts = []
    for detail in details[:3]:
        location = ".".join(str(p) for p in detail["loc"]) or "entry"
        parts.append(f"{location}: {detail['msg']}")
    more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
    return "; ".join(parts) + more


def _check_cross_entries(lexicon: LexiconFile) -> None:
    seen_ids: set[str] = set()
    term_owner: dict[tuple[str, ...], str] = {}
    abbreviation_owners: dict[tuple[str, ...], set[str]] = {}
    for concept in lexicon.concepts:
        if concept.id in seen_ids:
            raise LexiconError(f"concept {concept.id!r}: duplicate id")
        seen_ids.add(concept.id)
        for term in concept.all_terms() + concept.misspellings:
            key = token_key(term)
            owner = term_owner.setdefault(key, concept.id)
            if owner != concept.id:
                raise LexiconError(
                    f"concept {concept.id!r}: term {term!r} already belongs to concept {owner!r}; "
                    "make it an abbreviation declared ambiguous, or remove it from one of them"
                )
        for abbreviation in concept.abbreviations():
            abbreviation_owners.setdefault(token_key(abbreviation), set()).add(concept.id)
    _check_hierarchy(lexicon, seen_ids)
    declared = {token_key(a): a for a in lexicon.ambiguous_abbreviations}
    for key, owners in abbreviation_owners.items():
        if key in term_owner:
            owners.add(term_owner[key])
        if len(owners) > 1 and key not in declared:
            raise LexiconError(
                f"abbreviation {' '.join(key).upper()!r} is shared by concepts {sorted(owners)} "
                "but not listed in ambiguous_abbreviations"
            )
    for key, abbreviation in declared.items():
        if len(abbreviation_owners.get(key, set())) < 2:
            raise LexiconError(
                f"ambiguous_abbreviations: {abbreviation!r} is not shared by two concepts (stale entry?)"
            )


def _check_hierarchy(lexicon: LexiconFile, ids: set[str]) -> None:
    parents = {c.id: c.broader for c in lexicon.concepts}
    for concept in lexicon.concepts:
        for parent in concept.broader:
            if parent not in ids:
                raise LexiconError(f"concept {concept.id!r}: broader concept {parent!r} does not exist")
        seen, stack = {concept.id}, list(concept.broader)
        while stack:
            current = stack.pop()
            if current == concept.id:
                raise LexiconError(f"concept {concept.id!r}: broader chain loops back to itself")
            if current not in seen:
                seen.add(current)
                stack.extend(parents.get(current, []))
