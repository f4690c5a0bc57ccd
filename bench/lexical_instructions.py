"""Instructions per lexical search (valgrind cachegrind), product vs bare Tantivy, for one or more trees.

Why: on a shared 2-core machine the CPU-time ratio of ``bench.lexical_overhead`` moves by ±10 % from
run to run with the other processes' load, more than a round of per-query savings. Instructions
executed do not depend on the load: each tree runs the same first-seen queries (the ones
``bench.lexical_overhead`` times, same order) under ``valgrind --tool=cachegrind``, and its count
minus the count of the same process without the measured queries, divided by their number, is the
work of one query. The cyclic garbage collector is frozen and off for the measured queries (when a
collection falls is chaotic: one more or less in 100 queries would be ~2 M instructions a query).
Instructions are not time (Rust's search runs more of them per ns than the interpreter), so the
ratio here is lower than the CPU ratio; it is for comparing trees, not for the ≤ 3× target.

    python -m bench.lexical_instructions var/bench/lexical-10000 --trees /tmp/base . --queries 100
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path


def _driver(index_dir: Path, what: str, k: int, n: int) -> None:
    """Inside valgrind: set up as ``bench.lexical_overhead`` does, then run *n* searches (*what*:
    ``product``, ``bare`` or ``none``, the setup alone)."""
    import gc

    from bench.lexical_overhead import HashEncoder
    from bench.synthetic import queries as make_queries
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine
    from search_api.models import SearchRequest
    from search_api.query_plan import plan_query

    engine = build_engine(Settings(index={"dir": index_dir}), HashEncoder(), clip=False)
    texts = make_queries(2 * n + 10, seed=7)
    lexical = engine.backend.snapshot().lexical
    searcher = lexical._index.searcher()
    where = engine.filter_for(SearchRequest(q="x"))
    measured = texts[10 : 10 + n] if k == 10 else texts[10 + n : 10 + 2 * n]
    built = []
    for text in measured:  # built in every mode, so "none" subtracts it
        plan = plan_query(SearchRequest(q=text, mode="lexical"))
        built.append(lexical._query(plan.lexical_text, where, plan.lexical_statuses, plan.concepts, plan.required))
    built = [q for q in built if q is not None]
    for text in texts[:10]:  # warm both paths, as the benchmark does
        engine.search(SearchRequest(q=text, mode="lexical", limit=k))
        if built:
            searcher.search(built[0], k, count=False)
    gc.collect()
    gc.freeze()
    gc.disable()
    if what == "product":
        for text in measured:
            engine.search(SearchRequest(q=text, mode="lexical", limit=k))
    elif what == "bare":
        for query in built:
            searcher.search(query, k, count=False)


def instructions(tree: Path, index_dir: Path, what: str, k: int, n: int) -> int:
    """Instructions executed by the driver in *tree* (its own modules first on ``sys.path``)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    # this file runs as a script (a tree from before it existed has no bench.lexical_instructions)
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, __file__, "--driver", str(index_dir), what, str(k), str(n)]
    out = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True).stderr
    return int(re.search(r"I\s+refs:\s+([\d,]+)", out).group(1).replace(",", ""))


if __name__ == "__main__" and sys.argv[1:2] == ["--driver"]:
    here = os.path.dirname(os.path.abspath(__file__))  # bench/ itself is on sys.path: not a package root
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    _driver(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--trees", type=Path, nargs="+", default=[Path(".")])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    args = parser.parse_args()
    index_dir, n = args.index.resolve(), args.queries
    trees = [tree.resolve() for tree in args.trees]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # valgrind runs one thread: one run per core
        runs = {(tree, what, k): pool.submit(instructions, tree, index_dir, what, k, n)
                for k in (10, 100) for tree in trees for what in ("none", "product")}
        runs.update({(trees[-1], "bare", k): pool.submit(instructions, trees[-1], index_dir, "bare", k, n) for k in (10, 100)})
        count = {key: future.result() for key, future in runs.items()}
    for k in (10, 100):
        bare = (count[trees[-1], "bare", k] - count[trees[-1], "none", k]) / n
        print(f"top {k}: bare Tantivy {bare / 1e6:.2f} M instructions per query ({trees[-1]})")
        for tree in trees:
            product = (count[tree, "product", k] - count[tree, "none", k]) / n
            print(f"  {tree}: SearchEngine.search {product / 1e6:.2f} M per query, {product / bare:.2f}× bare")
