"""Ways to get a lexical query's ranked head and its exact counts from tantivy-py, timed side by side.

Why: the exact « N documents · M patients » of a search (#13) comes from one full-depth scored search
(``LexicalIndex.search_all``); #14 item 3 asked whether a pruned top-k search plus a cheaper unscored
pass, or an aggregation, would cost less. This runs each candidate on the same Tantivy queries the
product builds for ``bench.lexical_overhead``'s queries, checks that the candidates give the same
counts and the same ranked head as the shipped path, and prints each one's thread CPU time per query
(best of *rounds* passes over all queries: the floor, less sensitive to the shared machine's load).
The last rows time the backend calls themselves, so running this file against another tree
(``cd /tmp/base && PYTHONPATH=/tmp/base python /path/to/this/file IDX``) compares trees.

    python -m bench.lexical_count_paths var/bench/lexical-10000 [--depth 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from operator import itemgetter
from pathlib import Path

import numpy as np
import tantivy

_SCORE_OR_KEY, _ADDRESS = itemgetter(0), itemgetter(1)


def _pids_of(keyed_hits: list) -> np.ndarray:
    """The order keys of hits ordered by the ``pid`` fast field: the pids themselves."""
    return np.fromiter(map(_SCORE_OR_KEY, keyed_hits), dtype=np.int64, count=len(keyed_hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--depth", type=int, default=100, help="the ranked head (the lexical leg's depth at top 10)")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from bench.lexical_overhead import HashEncoder
    from bench.synthetic import queries as make_queries
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    engine = build_engine(Settings(index={"dir": args.index}), HashEncoder(), clip=False)
    backend = engine.backend
    snapshot = backend.snapshot()
    lexical, table = snapshot.lexical, snapshot.table
    searcher = lexical._index.searcher()
    n, depth = searcher.num_docs, args.depth
    where = engine.filter_for(SearchRequest(q="x"))
    plans = [plan_query(SearchRequest(q=t, mode="lexical")) for t in make_queries(args.queries + 10, seed=7)]
    plans = [p for p in plans if lexical._query(p.lexical_text, where, p.lexical_statuses, p.concepts, p.required) is not None]
    queries = [lexical._query(p.lexical_text, where, p.lexical_statuses, p.concepts, p.required) for p in plans]
    count = table.count_documents_and_patients

    def scored_full(q: tantivy.Query) -> tuple:  # the shipped ranked path (search_all)
        hits = searcher.search(q, n, count=False).hits
        pids = searcher.fast_field_values("pid", list(map(_ADDRESS, hits)))
        return hits[:depth], count(np.array(pids, dtype=np.int64))

    def pruned_head(q: tantivy.Query) -> list:
        return searcher.search(q, depth, count=False).hits

    def ordered_by_pid(q: tantivy.Query) -> tuple:
        return count(_pids_of(searcher.search(q, n, count=False, order_by_field="pid").hits))

    def const_score(q: tantivy.Query) -> tuple:
        hits = searcher.search(tantivy.Query.const_score_query(q, 1.0), n, count=False).hits
        return count(np.array(searcher.fast_field_values("pid", list(map(_ADDRESS, hits))), dtype=np.int64))

    def const_score_ordered(q: tantivy.Query) -> tuple:
        return count(_pids_of(searcher.search(tantivy.Query.const_score_query(q, 1.0), n, count=False, order_by_field="pid").hits))

    candidates = {
        "bare top 10 (the benchmark's reference)": lambda q: searcher.search(q, 10, count=False),
        f"shipped: one scored full-depth search, head {depth}, counts": scored_full,
        f"pruned scored top {depth} alone": pruned_head,
        "unscored, ordered by pid (counts)": ordered_by_pid,
        "const-score 1.0 (counts)": const_score,
        "const-score + ordered by pid (counts)": const_score_ordered,
        f"(a) pruned top {depth} + unscored ordered by pid": lambda q: (pruned_head(q), ordered_by_pid(q)),
        "(b) terms aggregation on pid, size = passages (alone)": lambda q: searcher.aggregate(q, {"p": {"terms": {"field": "pid", "size": n}}}),
        "cardinality of pid (HyperLogLog: not exact, alone)": lambda q: searcher.cardinality(q, "pid"),
        "passage match count only (count=True, limit 1)": lambda q: searcher.search(q, 1, count=True).count,
    }
    backend_calls = {
        f"backend.lexical_search_counted(depth {depth})": lambda p: backend.lexical_search_counted(p.lexical_text, depth, where, p.lexical_statuses, p.concepts, p.required),
        "backend.lexical_search_counted(0): dense mode's counts": lambda p: backend.lexical_search_counted(p.lexical_text, 0, where, p.lexical_statuses, p.concepts, p.required),
        "backend.lexical_matching_documents": lambda p: backend.lexical_matching_documents(p.lexical_text, where, p.lexical_statuses, p.concepts, p.required),
    }

    def key(hits: list) -> list:
        return [(score, address.segment_ord, address.doc) for score, address in hits]

    for q in queries:  # every candidate answers as the shipped path does
        head, counts = scored_full(q)
        assert key(pruned_head(q)) == key(head)
        assert ordered_by_pid(q) == const_score(q) == const_score_ordered(q) == counts
    print(f"{n} passages, {len(queries)} queries, head {depth}: counts and heads identical across candidates")

    rows = {**{name: (fn, queries) for name, fn in candidates.items()}, **{name: (fn, plans) for name, fn in backend_calls.items()}}
    best = {name: float("inf") for name in rows}
    for _ in range(args.rounds):
        for name, (fn, items) in rows.items():
            started = time.thread_time()
            for item in items:
                fn(item)
            best[name] = min(best[name], (time.thread_time() - started) * 1000 / len(items))
    print("\n| path | CPU ms / query (best of rounds) |\n|---|---|")
    for name, ms in best.items():
        print(f"| {name} | {ms:.3f} |")


if __name__ == "__main__":
    main()
