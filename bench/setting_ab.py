"""In-process A/B of one boolean search setting: the demo eval index, the labelled queries, interleaved.

Why: a query-time lever (``search.demote_negating_dense``...) needs no second server to be timed: the same
engine answers each query with the setting on and off, alternating which goes first, after every query
vector is cached (a cold encoder call would land on whichever side ran first). Medians compare on a
shared machine; absolute values do not travel to a 100k index (``bench.ab_latency`` does that).

    python -m bench.setting_ab demote_negating_dense [--repeats 3] [--mode hybrid]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from eval.query_set import load_queries
from eval.run_clinical import open_eval_engine
from indexer.settings import get_settings
from search_api.models import SearchRequest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("setting", help="a boolean field of SearchSettings")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--corpus", type=Path, default=Path("data/demo"))
    parser.add_argument("--index", type=Path, default=Path("var/eval/demo-index"))
    args = parser.parse_args(argv)
    engine, _, _ = open_eval_engine(args.corpus, args.index, get_settings().encoder)
    queries = [q.query for q in load_queries()]
    shipped = getattr(engine.settings, args.setting)
    for text in queries:  # every query vector cached, both sides warm
        engine.search(SearchRequest(q=text, mode=args.mode, limit=10))
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for repeat in range(args.repeats):
            for text in queries:
                for value in ((True, False) if repeat % 2 == 0 else (False, True)):
                    setattr(engine.settings, args.setting, value)
                    start = time.perf_counter()
                    engine.search(SearchRequest(q=text, mode=args.mode, limit=10))
                    times[value].append((time.perf_counter() - start) * 1000)
    finally:
        setattr(engine.settings, args.setting, shipped)
    for value, values in times.items():
        print(f"{args.setting}={value}: median {statistics.median(values):.2f} ms, "
              f"p90 {statistics.quantiles(values, n=10)[-1]:.2f} ms over {len(values)} searches")


if __name__ == "__main__":
    main()
