"""Medical-language components: context (negation, hypothesis, family), bilingual lexicon, query polarity.

Pure Python and data-driven (YAML under ``indexer/configs/clinical/``), no model download: they run at index
and query time next to the keyword engine.

* :func:`split_by_context` — cut a text into affirmed / negated / hypothetical / family spans;
* :class:`Lexicon` / :func:`load_default_lexicon` — concept matching and bilingual query expansion;
* :func:`parse_clinical_query` — « sans épanchement pleural » asks for *negated* mentions.
"""

from indexer.clinical.config import ContextStatus
from indexer.clinical.context import (
    ContextSpan,
    find_triggers,
    group_by_status,
    mention_context,
    split_by_context,
    status_at,
)
from indexer.clinical.lexicon import (
    ConceptMention,
    ExpandedTerm,
    Lexicon,
    LexiconError,
    QueryExpansion,
    load_default_lexicon,
)
from indexer.clinical.query import ClinicalQuery, QueryClause, parse_clinical_query
from indexer.clinical.sentences import sentences

__all__ = [
    "ClinicalQuery",
    "ConceptMention",
    "ContextSpan",
    "ContextStatus",
    "ExpandedTerm",
    "Lexicon",
    "LexiconError",
    "QueryClause",
    "QueryExpansion",
    "find_triggers",
    "group_by_status",
    "load_default_lexicon",
    "mention_context",
    "parse_clinical_query",
    "sentences",
    "split_by_context",
    "status_at",
]
