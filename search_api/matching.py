"""The exact set of documents that contain a query's terms, within a filter.

Ranked retrieval only looks at the top few hundred passages of each leg; a physician's « 57
documents · 12 patients », a patient timeline's marks and a cohort need *every* document whose text
matches the query (the lexical leg's query: concepts and their forms, negated mentions for
« sans X », the user's filters and the access scope all included). This asks the lexical index for
all of its matching passages and collapses them to documents, best passage first.

It goes through the storage interface (:class:`~indexer.backend.base.IndexBackend`): a lexical search
as deep as the index; ``lexical_matching_documents`` is the backend's exact set without ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.backend.filters import DocumentFilter
from search_api.query_plan import QueryPlan


@dataclass
class DocumentMatches:
    """Documents matching the query's terms, ranked by their best passage's BM25 score."""

    doc_ids: list[str] = field(default_factory=list)
    best_pid: dict[str, int] = field(default_factory=dict)
    best_score: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.best_pid


def exact_matches(engine, plan: QueryPlan, where: DocumentFilter) -> DocumentMatches:  # noqa: ANN001 - SearchEngine
    """Every document of *engine*'s index whose passages match *plan*'s lexical query within *where*."""
    matches = DocumentMatches()
    if not (plan.lexical_text.strip() or plan.concepts or plan.required):
        return matches
    backend = engine.backend
    depth = max(backend.stats().passages, 1)
    hits = backend.lexical_search(plan.lexical_text, depth, where, plan.lexical_statuses, plan.concepts, plan.required)
    doc_of = backend.documents_of(h.pid for h in hits)
    for hit in hits:  # best first: a document's first passage is its best
        doc_id = doc_of.get(hit.pid)
        if doc_id is None or doc_id in matches.best_pid:
            continue
        matches.doc_ids.append(doc_id)
        matches.best_pid[doc_id] = hit.pid
        matches.best_score[doc_id] = hit.score
    return matches


def patients_of(engine, doc_ids: list[str]) -> dict[str, str]:  # noqa: ANN001 - SearchEngine
    """Patient id of each document that has one (articles and figures have none)."""
    summaries = engine.backend.document_summaries(list(doc_ids))
    return {doc_id: s.patient_id for doc_id, s in summaries.items() if s.patient_id}


def patient_count(engine, matches: DocumentMatches) -> int:  # noqa: ANN001 - SearchEngine
    """Distinct patients among *matches* (from document summaries: no document text is read; patient
    ids compared in their normalised form, as filters do)."""
    if not matches.best_pid:
        return 0
    from indexer.backend.filters import normalise_key

    return len({normalise_key(p) for p in patients_of(engine, matches.doc_ids).values()})


def matching_documents(engine, plan: QueryPlan, where: DocumentFilter) -> set[str]:  # noqa: ANN001 - SearchEngine
    """Ids of the documents matching *plan*'s lexical query within *where*, unranked: what ``total``
    counts (the backend's exact set, cheaper than ranking every passage)."""
    if not (plan.lexical_text.strip() or plan.concepts or plan.required):
        return set()
    return engine.backend.lexical_matching_documents(
        plan.lexical_text, where, plan.lexical_statuses, plan.concepts, plan.required
    )


def distinct_patients(engine, doc_ids: set[str] | list[str]) -> int:  # noqa: ANN001 - SearchEngine
    """Distinct patients (normalised ids) among *doc_ids*."""
    from indexer.backend.filters import normalise_key

    return len({normalise_key(p) for p in patients_of(engine, list(doc_ids)).values()}) if doc_ids else 0
