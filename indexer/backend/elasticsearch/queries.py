"""Query translation: medsearch's lexical and vector queries as Elasticsearch query DSL.

The lexical query mirrors :meth:`indexer.backend.embedded.lexical.LexicalIndex.search` clause for clause:

* each typed token is one optional clause, the *disjunction-max* (tie-breaker 0.1) of that token
  in every searched context field and analysis (and the title at half weight when affirmed
  mentions are searched);
* each recognised concept is a required clause: any of its surface forms as a phrase, the typed
  form first and the others (synonyms, translations, expansions) at 0.7; in a long query
  (:func:`~indexer.backend.base.concepts_to_match`) a share of the concepts, not all, must match;
* each ``(forms, statuses)`` of *required* is a required clause in its own statuses;
* a query naming a relative (``family:mother``) has an optional ``constant_score`` clause: the named
  relative's tier (:func:`~indexer.backend.base.named_relative_tier`: its mentions rank above the
  unnamed ones whatever the per-field idf);
* the :class:`~indexer.backend.filters.DocumentFilter` is a ``filter`` clause (no score, cached),
  so filtering happens inside the engine, before top-k, never after retrieval.

Analysis is Elasticsearch's (``match`` / ``match_phrase`` let each field analyse the text with its
own analyzer); the Python side only splits the query into tokens, keeping elided articles with
their word (« l'épanchement ») so the French analyzer strips them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from indexer.backend.elasticsearch.mapping import ANALYZERS, OPEN_ACCESS, field_name
from indexer.backend.filters import DocumentFilter
from indexer.backend.base import (
    CONTEXT_FIELDS, DEFAULT_STATUSES, DISMAX_TIE_BREAKER, NamedRelativeTier, concepts_to_match, named_relative_tier,
    status_fields, free_word_count, primary_forms, split_negated_form,
)
from indexer.backend.embedded.lexical import EXPANSION_BOOST, FIELD_BOOSTS, TITLE_BOOST
from indexer.text.signs import SPECIAL_TOKEN

TIE_BREAKER = DISMAX_TIE_BREAKER
#: a signed or « non- » abbreviation (« ST+ », "non-ST": :mod:`indexer.text.signs`) stays whole, so the
#: analyzers' character filters see its sign; any other word, with its elided article
_TOKEN = re.compile(rf"{SPECIAL_TOKEN}|\w+(?:['’]\w+)*")

Query = dict[str, Any]


def tokens(text: str) -> list[str]:
    """Words of a query as typed (analysis is left to each field's analyzer)."""
    return _TOKEN.findall(text)


def _fields(statuses: Iterable[str], with_title: bool) -> list[tuple[str, float]]:
    out = []
    for lang in ANALYZERS:
        for status in statuses:  # « family:mother »: the fields of the relatives answering it (base.status_fields)
            out += [(field_name(prefix, lang), boost) for prefix, boost in status_fields(status, FIELD_BOOSTS)]
        if with_title:
            out.append((field_name("title", lang), TITLE_BOOST))
    return out


def _best_field(text: str, statuses: tuple[str, ...], phrase: bool) -> Query:
    """*text* in whichever context field and analysis matches best (disjunction-max)."""
    kind = "match_phrase" if phrase else "match"
    alternatives = [
        {kind: {field: {"query": text, "boost": boost}}} for field, boost in _fields(statuses, "affirmed" in statuses)
    ]
    return {"dis_max": {"tie_breaker": TIE_BREAKER, "queries": alternatives}}


def concept_query(forms: list[str], statuses: tuple[str, ...]) -> Query | None:
    """Any of a concept's surface forms as a phrase; the typed form (first) scores highest."""
    clauses = []
    for rank, form in enumerate(forms):
        if parts := split_negated_form(form):  # both parts, in one passage (base.NEGATED_PART)
            head, negated = parts
            if not tokens(head) or not tokens(negated):
                continue
            clause = {"bool": {"must": [_best_field(head, statuses, phrase=True), _best_field(negated, ("negated",), phrase=True)]}}
        elif not tokens(form):
            continue
        else:
            clause = _best_field(form, statuses, phrase=True)
        if rank >= primary_forms(forms):
            clause = {"bool": {"must": [clause], "boost": EXPANSION_BOOST}}
        clauses.append(clause)
    if not clauses:
        return None
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def free_text_query(text: str, statuses: tuple[str, ...]) -> Query | None:
    """One optional clause per typed token (plain BM25 over words not recognised as a concept)."""
    clauses = [_best_field(token, statuses, phrase=False) for token in tokens(text)]
    if not clauses:
        return None
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def expanded_free_query(free: Query | None, expansion: Sequence[tuple[str, float]], statuses: tuple[str, ...]) -> Query | None:
    """The free-text query plus one optional clause per expansion word, boosted by its weight
    (pseudo-relevance feedback: :meth:`IndexBackend.lexical_search_expanded`)."""
    clauses = [free] if free is not None else []
    clauses += [{"bool": {"must": [_best_field(word, statuses, phrase=True)], "boost": float(weight)}}
                for word, weight in expansion if weight > 0 and tokens(word)]
    if not clauses:
        return None
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def term_count_query(word: str, language: str) -> Query | None:
    """Passages of *language* documents whose *language*-analysed context fields contain *word*
    (:meth:`IndexBackend.term_passage_counts`); None for a language without an analysis."""
    if language not in ANALYZERS or not tokens(word):
        return None
    fields = [field_name(prefix, language) for prefix in CONTEXT_FIELDS.values()]
    return {"bool": {"filter": [
        {"term": {"language": language}},
        {"bool": {"should": [{"match_phrase": {field: word}} for field in fields], "minimum_should_match": 1}},
    ]}}


def lexical_query(
    text: str,
    where: DocumentFilter | None = None,
    statuses: tuple[str, ...] = DEFAULT_STATUSES,
    concepts: list[list[str]] | None = None,
    required: list[tuple[list[str], tuple[str, ...]]] | None = None,
    expansion: Sequence[tuple[str, float]] = (),
) -> Query | None:
    """The BM25 query of :meth:`LexicalIndex.search`'s arguments (and weighted *expansion* words);
    None when nothing can match."""
    wanted = [q for q in (concept_query(forms, statuses) for forms in concepts or []) if q is not None]
    must = [q for q in (concept_query(forms, tuple(forms_statuses)) for forms, forms_statuses in required or []) if q is not None]
    enough = concepts_to_match(len(wanted), free_word_count(text))
    if enough < len(wanted):  # a long query: most of its concepts, not all (base.concepts_to_match)
        must.append({"bool": {"should": wanted, "minimum_should_match": enough}})
    else:
        must = wanted + must
    free = free_text_query(text, statuses) if text.strip() else None
    if expansion:
        free = expanded_free_query(free, expansion, statuses)
    if free is None and not must:
        return None
    body: dict[str, Any] = {"must": must}
    if free is not None:
        if must:
            body["should"] = [free]  # scores, but the concepts decide what matches
        else:
            body["must"] = [free]
    if (tier := named_relative_tier(text, statuses, concepts, required, expansion)) is not None:
        body.setdefault("should", []).append(tier_query(tier))  # optional: it ranks, never selects
    body["filter"] = filter_clauses(where or DocumentFilter())
    return {"bool": body}


def tier_query(tier: NamedRelativeTier) -> Query:
    """A constant *tier.bonus* for a passage holding one of the tier's phrases in a named relative's field
    (any analysis): it outweighs any BM25 score of the rest of the query (base « the named relative's tier »)."""
    matches = [{"match_phrase": {field_name(prefix, lang): phrase}}
               for phrase in tier.phrases if tokens(phrase) for prefix in tier.fields for lang in ANALYZERS]
    return {"constant_score": {"filter": {"bool": {"should": matches, "minimum_should_match": 1}}, "boost": tier.bonus}}


def _date(value: Any) -> str:
    return value.isoformat()


def _open_or(field: str, allowed: tuple[str, ...]) -> Query:
    """Access restriction on one axis: documents without a patient, or whose *field* is allowed."""
    should: list[Query] = [{"term": {"access": OPEN_ACCESS}}]
    if allowed:
        should.append({"terms": {field: list(allowed)}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def filter_clauses(where: DocumentFilter) -> list[Query]:
    """*where* as Elasticsearch ``filter`` clauses, same semantics as
    :meth:`DocumentFilter.admits` (the reference every backend is tested against)."""
    clauses: list[Query] = []
    if where.kinds:
        clauses.append({"terms": {"kind": list(where.kinds)}})
    if where.patient_id:
        clauses.append({"term": {"patient": where.patient_key}})
    if where.language:
        clauses.append({"term": {"language": where.language}})
    if where.date_from or where.date_to:
        bounds = {}
        if where.date_from:
            bounds["gte"] = _date(where.date_from)
        if where.date_to:
            bounds["lte"] = _date(where.date_to)
        clauses.append({"range": {"date": bounds}})  # a document without a date never matches a bound
    if where.departments:
        clauses.append({"terms": {"department": list(where.department_keys)}})
    if where.modalities:
        clauses.append({"terms": {"modality": list(where.modality_keys)}})
    rules: list[Query] = []
    if where.allowed_patients is not None:
        rules.append(_open_or("patient", where.allowed_patient_keys or ()))
    if where.allowed_departments is not None:
        rules.append(_open_or("department", where.allowed_department_keys or ()))
    if rules and (granted := where.granted_patient_keys):  # a break-the-glass grant lifts the restriction
        clauses.append({"bool": {"should": [{"bool": {"filter": rules}}, {"terms": {"patient": list(granted)}}],
                                 "minimum_should_match": 1}})
    else:
        clauses += rules
    return clauses


def knn_search(vector: list[float], limit: int, where: DocumentFilter | None, num_candidates: int) -> dict[str, Any]:
    """Search-request body (``query`` + ``rescore``) of a filtered vector search with exact cosines.

    The ``knn`` query walks the int8-quantised HNSW graph with the filter applied *during* the
    search (Elasticsearch explores until it has *limit* matching vectors), not to its results. Its
    scores carry the quantisation error (±0.01), enough to swap two passages a FAISS flat index
    ranks 0.0007 apart; so the top *limit* are rescored with the exact cosine of the float vectors
    Elasticsearch keeps beside the quantised ones (the documented way to rescore quantised kNN
    before 8.18's ``rescore_vector``). Scores are then ``1 + cos``.
    """
    knn: dict[str, Any] = {
        "field": "vector",
        "query_vector": vector,
        "k": limit,
        "num_candidates": max(num_candidates, limit),
    }
    clauses = filter_clauses(where or DocumentFilter())
    if clauses:
        knn["filter"] = clauses
    exact = {
        "script_score": {
            "query": {"match_all": {}},
            "script": {"source": "cosineSimilarity(params.query_vector, 'vector') + 1.0", "params": {"query_vector": vector}},
        }
    }
    return {
        "query": {"knn": knn},
        "rescore": {"window_size": limit, "query": {"rescore_query": exact, "query_weight": 0.0, "rescore_query_weight": 1.0}},
        "size": limit,
    }


def cosine_from_rescore(score: float) -> float:
    """The exact cosine back from a rescored hit's ``1 + cos``."""
    return float(score) - 1.0
