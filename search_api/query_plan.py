"""From what the physician typed to what each retrieval leg searches.

« pneumothorax sans épanchement pleural » becomes: lexical leg = "pneumothorax" in affirmed text
AND « épanchement pleural » in negated text; dense leg = "pneumothorax". « IDM » is expanded through
the bilingual lexicon to « infarctus du myocarde », "myocardial infarction"... (shown back to the user
as ``expanded_terms``); an ambiguous abbreviation (« IR ») expands to all its senses, flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from indexer.clinical import ExpandedTerm, Lexicon, load_default_lexicon, parse_clinical_query
from indexer.store.lexical import ALL_STATUSES, DEFAULT_STATUSES
from search_api.models import QueryInterpretation, SearchRequest


@dataclass(frozen=True)
class QueryPlan:
    lexical_text: str
    lexical_statuses: tuple[str, ...]
    extra_phrases: list[str]
    required: list[tuple[str, tuple[str, ...]]]
    dense_text: str | None  # None: the dense leg cannot answer this query (it asks for absent findings)
    highlight_text: str
    expanded_terms: list[ExpandedTerm] = field(default_factory=list)
    interpretation: QueryInterpretation | None = None


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_default_lexicon()


def plan_query(request: SearchRequest, lexicon: Lexicon | None = None) -> QueryPlan:
    """Parse polarity (« sans », "without", ``NOT:``), expand concepts, and decide each leg's query."""
    if not request.clinical:  # the plain baseline: the words as typed, in every context
        return QueryPlan(request.q, ALL_STATUSES, [], [], request.q, request.q)
    parsed = parse_clinical_query(request.q)
    affirmed = " ".join(parsed.affirmed_terms) if parsed.clauses else parsed.text
    negated = parsed.negated_terms
    expansion_source = affirmed if affirmed.strip() else " ".join(negated)
    expanded = (lexicon or default_lexicon()).expand_query(expansion_source) if request.expand else None
    extra = expanded.extra_phrases if expanded else []
    interpretation = QueryInterpretation(
        polarity=parsed.polarity, affirmed_terms=parsed.affirmed_terms or ([affirmed] if affirmed else []), negated_terms=negated
    )
    highlight = " ".join([affirmed, *negated, *extra])  # the finding's words, not « pas de » / "without"
    if parsed.polarity == "negated":
        # "patients without pleural effusion": match only where the finding is negated.
        return QueryPlan(
            lexical_text=" ".join(negated),
            lexical_statuses=("negated",),
            extra_phrases=extra,
            required=[],
            dense_text=None,
            highlight_text=highlight,
            expanded_terms=expanded.expanded_terms if expanded else [],
            interpretation=interpretation,
        )
    statuses = ALL_STATUSES if request.include_negated else DEFAULT_STATUSES
    return QueryPlan(
        lexical_text=affirmed,
        lexical_statuses=statuses,
        extra_phrases=extra,
        required=[(term, ("negated",)) for term in negated],
        dense_text=affirmed,
        highlight_text=highlight,
        expanded_terms=expanded.expanded_terms if expanded else [],
        interpretation=interpretation,
    )
