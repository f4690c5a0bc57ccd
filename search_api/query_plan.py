"""From what the physician typed to what each retrieval leg searches.

« pneumothorax sans épanchement pleural » becomes: lexical leg = the concept *pneumothorax* in
affirmed text AND the concept *pleural effusion* in negated text; dense leg = "pneumothorax". A
concept recognised by the bilingual lexicon is searched through all its forms, each as a phrase:
« IDM » also finds « infarctus du myocarde » and "myocardial infarction" (shown back to the user as
``expanded_terms``); an ambiguous abbreviation (« IR ») expands to every sense, flagged. Words that
are not part of a concept are matched one by one, as plain BM25.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from indexer.clinical import ExpandedTerm, Lexicon, QueryExpansion, load_default_lexicon, parse_clinical_query
from indexer.backend.base import ALL_STATUSES, DEFAULT_STATUSES
from search_api.models import QueryInterpretation, SearchRequest

Forms = list[str]  # a concept's surface forms, the typed one first


@dataclass(frozen=True)
class QueryPlan:
    lexical_text: str  # free words, matched token by token
    lexical_statuses: tuple[str, ...]
    concepts: list[Forms]  # each must match (one of its forms, as a phrase) in lexical_statuses
    required: list[tuple[Forms, tuple[str, ...]]]  # each must match in its own statuses
    dense_text: str | None  # None: the dense leg cannot answer this query (it asks for absent findings)
    highlight_text: str
    expanded_terms: list[ExpandedTerm] = field(default_factory=list)
    interpretation: QueryInterpretation | None = None


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_default_lexicon()


def _concepts(expansion: QueryExpansion) -> tuple[list[Forms], str]:
    """(one forms list per recognised span, the query text left once those spans are removed)."""
    by_span: dict[tuple[int, int], Forms] = {}
    for term in expansion.expanded_terms:
        forms = by_span.setdefault((term.start, term.end), [term.source_text])
        forms += [t for t in term.terms if t not in forms]
    residual, cursor = [], 0
    for start, end in sorted(by_span):
        residual.append(expansion.query[cursor:start])
        cursor = max(cursor, end)
    residual.append(expansion.query[cursor:])
    return list(by_span.values()), " ".join(part.strip() for part in residual if part.strip())


def _split(text: str, lexicon: Lexicon, expand: bool) -> tuple[list[Forms], str, list[ExpandedTerm]]:
    if not expand or not text.strip():
        return [], text, []
    expansion = lexicon.expand_query(text)
    concepts, residual = _concepts(expansion)
    return concepts, residual, expansion.expanded_terms


def plan_query(request: SearchRequest, lexicon: Lexicon | None = None) -> QueryPlan:
    """Parse polarity (« sans », "without", ``NOT:``), recognise concepts, and decide each leg's query."""
    if not request.clinical:  # the plain baseline: the words as typed, in every context
        return QueryPlan(request.q, ALL_STATUSES, [], [], request.q, request.q)
    lexicon = lexicon or default_lexicon()
    parsed = parse_clinical_query(request.q)
    affirmed = " ".join(parsed.affirmed_terms) if parsed.clauses else parsed.text
    negated = parsed.negated_terms
    interpretation = QueryInterpretation(
        polarity=parsed.polarity,
        affirmed_terms=parsed.affirmed_terms or ([affirmed] if affirmed else []),
        negated_terms=negated,
    )
    concepts, residual, expanded = _split(affirmed, lexicon, request.expand)
    negated_forms: list[Forms] = []
    for term in negated:
        term_concepts, term_residual, term_expanded = _split(term, lexicon, request.expand)
        negated_forms += term_concepts + ([[term_residual]] if term_residual else [])
        expanded += term_expanded
    highlight = " ".join([affirmed, *negated, *(form for forms in [*concepts, *negated_forms] for form in forms)])
    if parsed.polarity == "negated":
        # "patients without pleural effusion": match only where the finding is negated.
        return QueryPlan("", ("negated",), negated_forms, [], None, highlight, expanded, interpretation)
    family = request.include_negated if request.include_family is None else request.include_family
    statuses = (*DEFAULT_STATUSES, *(["negated"] if request.include_negated else []), *(["family"] if family else []))
    required = [(forms, ("negated",)) for forms in negated_forms]
    return QueryPlan(residual, statuses, concepts, required, affirmed, highlight, expanded, interpretation)
