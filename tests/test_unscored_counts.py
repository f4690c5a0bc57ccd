"""Counts-only and exact-set lexical searches skip BM25 (#14 item 3): same passages as the scored search.

:func:`indexer.backend.embedded.lexical._unscored_pids` orders Tantivy's collector by the ``pid`` fast
field, so nothing is scored and each hit carries its pid. The reference here is the previous code: a
scored full-depth search and its pids read with ``fast_field_values``. Compared on the real test index,
for every query and filter of ``test_search_totals`` (kinds, patient, dates, departments, modalities,
access scopes), as pid sets, as dense mode's counts (``lexical_search_counted(limit=0)``) and as the
exact document set.
"""

from __future__ import annotations

import numpy as np
import pytest

from indexer.backend.embedded.lexical import _unscored_pids
from search_api.models import SearchRequest
from search_api.query_plan import plan_query
from test_search_totals import QUERIES, WHERES


@pytest.fixture(scope="module")
def engine(indexed, encoder):
    from search_api.engine_factory import build_engine

    return build_engine(indexed[0], encoder)


def _scored_pids(lexical, query) -> list[int]:  # noqa: ANN001
    """The previous path: every match ranked by BM25, then its pid from the fast field."""
    searcher = lexical._index.searcher()
    hits = searcher.search(query, searcher.num_docs, count=False).hits
    return [int(pid) for pid in searcher.fast_field_values("pid", [address for _, address in hits])]


def test_unscored_pids_and_counts_equal_the_scored_search(engine) -> None:  # noqa: ANN001
    snapshot = engine.backend.snapshot()
    lexical, table = snapshot.lexical, snapshot.table
    compared = nonempty = 0
    for q in QUERIES:
        plan = plan_query(SearchRequest(q=q))
        for statuses in (plan.lexical_statuses, ("negated",)):
            for where in WHERES:
                args = (plan.lexical_text, where, statuses, plan.concepts, plan.required)
                query = lexical._query(*args)
                if query is None:
                    continue
                old = _scored_pids(lexical, query)
                new = _unscored_pids(lexical._index.searcher(), query)
                assert sorted(new) == sorted(old) and len(set(new)) == len(new), (q, statuses, where)
                assert sorted(lexical.matching_pids(*args)) == sorted(old)
                head, pids = lexical.search_all(plan.lexical_text, 0, where, statuses, plan.concepts, plan.required)
                assert head == []
                expected = table.count_documents_and_patients(np.array(old, dtype=np.int64))
                assert table.count_documents_and_patients(pids) == expected
                counted = engine.backend.lexical_search_counted(plan.lexical_text, 0, where, statuses, plan.concepts, plan.required)
                assert (counted.hits, counted.documents, counted.patients) == ([], *expected)
                assert engine.backend.lexical_matching_documents(*args) == set(table.doc_of(old).values())
                # the ranked path is unchanged: its head is the scored search's top
                ranked, _ = lexical.search_all(plan.lexical_text, 5, where, statuses, plan.concepts, plan.required)
                assert ranked == lexical.search(plan.lexical_text, 5, where, statuses, plan.concepts, plan.required)
                compared += 1
                nonempty += bool(old)
    assert compared > 50 and nonempty > 10, (compared, nonempty)
