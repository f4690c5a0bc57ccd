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

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from operator import itemgetter
from weakref import WeakKeyDictionary

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
    """Every document of *engine*'s index whose passages match *plan*'s lexical query within *where*.

    The hits (thousands for a common word at 100k passages) are collapsed to documents by the
    backend's :meth:`~indexer.backend.base.IndexBackend.first_passages` (in numpy on the embedded
    backend) and the two maps built by ``dict(zip(...))`` in C: a Python step per hit was a fifth of
    a results-by-patient request (tests/test_lean_patients.py checks the old loop's answer)."""
    matches = DocumentMatches()
    if not (plan.lexical_text.strip() or plan.concepts or plan.required):
        return matches
    backend = engine.backend
    with backend.pinned():  # the depth, the hits and their documents of one generation
        depth = _passage_count(backend)
        hits = backend.lexical_search(plan.lexical_text, depth, where, plan.lexical_statuses, plan.concepts, plan.required)
        if not hits:
            return matches
        pids = list(map(_PID, hits))
        doc_ids, positions = backend.first_passages(pids)  # best first: a document's first passage is its best
    matches.doc_ids = list(doc_ids)
    matches.best_pid = dict(zip(doc_ids, map(pids.__getitem__, positions)))
    matches.best_score = dict(zip(doc_ids, map(_SCORE, map(hits.__getitem__, positions))))
    return matches


_PID, _SCORE = itemgetter(0), itemgetter(1)
_PASSAGES: WeakKeyDictionary = WeakKeyDictionary()


def _passage_count(backend) -> int:  # noqa: ANN001 - IndexBackend
    """The live generation's passage count (at least 1): the depth of a search for every match.

    Kept per backend and generation (:meth:`~indexer.backend.base.IndexBackend.info` names it; a
    published generation never changes): ``stats()`` counts documents by kind in SQL, ~6 ms at 100k
    passages, on every request that needs exact matches."""
    with backend.pinned():  # the info and the count of one generation
        info = backend.info()
        known = _PASSAGES.get(backend)
        if known is not None and known[0] == info:
            return known[1]
        count = max(backend.stats().passages, 1)
    try:
        _PASSAGES[backend] = (info, count)
    except TypeError:  # a backend that cannot be weakly referenced: no memory, same answer
        pass
    return count


@dataclass
class ComparedMatches:
    """A comparison query's exact matches (« FEVG < 40 % »): the label's matching documents whose text
    gives the label a satisfying value, still ranked by their best passage's BM25 score."""

    matches: DocumentMatches
    #: document id → its evidence sentence, value highlighted (:meth:`ValueComparison.evidence`)
    evidence: dict[str, str]
    #: how many label matches were read and checked (the check's cost: one document text each)
    checked: int


#: how many comparison queries' checked sets each backend keeps (per generation: see compared_matches)
COMPARED_MEMORY = 32
_COMPARED: WeakKeyDictionary = WeakKeyDictionary()  # backend → (IndexInfo, OrderedDict(key → ComparedMatches))
_COMPARED_LOCK = threading.Lock()


def compared_matches(engine, plan: QueryPlan, where: DocumentFilter) -> ComparedMatches:  # noqa: ANN001 - SearchEngine
    """:func:`exact_matches` of *plan* (a comparison query's: its label) kept to the documents satisfying
    ``plan.comparison`` (:func:`search_api.value_comparison.satisfying`, the check cohorts apply).

    Why inside the exact set: « 12 documents · 5 patients » and every page must count only documents
    whose value satisfies the comparison, not « Furosémide 40 mg » or « FEVG à 40 % ». Cost: every label
    match's text is read once (the label's matches, not the index: see README, « valeur comparée »), so
    the answer is kept for the generation (the last :data:`COMPARED_MEMORY` of them, keyed by the plan's
    lexical query, the comparison and *where*, access scope included): /search/patients asks it, then its
    ranking's /search asks again, and the next pages ask too. Callers must not change what it returns."""
    backend = engine.backend
    with backend.pinned():
        info = backend.info()
        key = _compared_key(plan, where)
        with _COMPARED_LOCK:
            known = _COMPARED.get(backend)
            if known is not None and known[0] == info and key in known[1]:
                known[1].move_to_end(key)
                return known[1][key]
        found = _compared(engine, plan, where)
        with _COMPARED_LOCK:
            known = _COMPARED.get(backend)
            if known is None or known[0] != info:
                known = (info, OrderedDict())
                try:
                    _COMPARED[backend] = known
                except TypeError:  # a backend that cannot be weakly referenced: no memory, same answer
                    return found
            known[1][key] = found
            while len(known[1]) > COMPARED_MEMORY:
                known[1].popitem(last=False)
    return found


def plan_matches(engine, plan: QueryPlan, where: DocumentFilter) -> tuple[DocumentMatches, ComparedMatches | None]:  # noqa: ANN001
    """*plan*'s exact matches within *where*, and for a comparison query (« FEVG < 40 % ») the checked set
    they come from (its evidence sentences): only the label's matches giving a satisfying value, as
    /search and cohorts count them; otherwise every document containing the query's terms."""
    if plan.comparison is None:
        return exact_matches(engine, plan, where), None
    compared = compared_matches(engine, plan, where)
    return compared.matches, compared


def _compared_key(plan: QueryPlan, where: DocumentFilter) -> tuple:
    """What a comparison query's checked set depends on: its lexical query, its comparison, the filter."""
    return (plan.lexical_text, plan.lexical_statuses, tuple(map(tuple, plan.concepts)),
            tuple((tuple(forms), statuses) for forms, statuses in plan.required), plan.comparison, where)


def _compared(engine, plan: QueryPlan, where: DocumentFilter) -> ComparedMatches:  # noqa: ANN001 - SearchEngine
    """:func:`compared_matches` without its memory."""
    from search_api.value_comparison import satisfying

    found = exact_matches(engine, plan, where)
    if plan.comparison is None or not found.doc_ids:
        return ComparedMatches(found, {}, 0)
    evidence = satisfying(plan.comparison, engine.backend.get_documents(found.doc_ids))
    kept = DocumentMatches([d for d in found.doc_ids if d in evidence])
    kept.best_pid = {d: found.best_pid[d] for d in kept.doc_ids}
    kept.best_score = {d: found.best_score[d] for d in kept.doc_ids}
    return ComparedMatches(kept, evidence, len(found.doc_ids))
