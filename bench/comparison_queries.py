"""What a comparison query (« FEVG < 40 % ») costs /search now that its value is checked.

A: the query read as words (the plan before ``search_api.value_comparison`` reached /search: the
comparison parser disabled); B: the label searched and every label match's text checked, the checked
set's memory emptied first (a query's first page); C: the same with the memory kept (its next pages, and
the /search that /search/patients asks after its own check). Interleaved in one process (order rotating),
3 warm-up rounds dropped, medians quoted, load averages printed; also how many label matches each query reads.

    PYTHONPATH=$PWD python -m bench.comparison_queries var/index
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

QUERIES = ["FEVG < 40 %", "FEVG < 45 %", "créatinine > 150", "HbA1c > 7 %", "insuffisance cardiaque FEVG < 40 %"]


@contextmanager
def words_only(enabled: bool) -> Iterator[None]:
    """While *enabled*, plan_query reads no comparison: the query's words are searched (arm A)."""
    import search_api.query_plan as query_plan

    real = query_plan.parse_comparison
    if enabled:
        query_plan.parse_comparison = lambda _query: None
    try:
        yield
    finally:
        query_plan.parse_comparison = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("MEDSEARCH_SECURITY__SECRETS_DIR", tempfile.mkdtemp())
    from indexer.backend.filters import DocumentFilter
    from indexer.encoders import load_encoder
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine
    from search_api import matching
    from search_api.matching import compared_matches
    from search_api.models import SearchRequest

    settings = Settings(index={"dir": args.index})
    engine = build_engine(settings, load_encoder(settings.encoder), clip=False)
    print("loadavg before", open("/proc/loadavg").read().strip())
    for q in QUERIES:
        print(q, "label matches checked:", compared_matches(engine, engine.plan(SearchRequest(q=q)), DocumentFilter()).checked)
        for mode in ("lexical", "hybrid"):
            times: dict[str, list[float]] = {"A": [], "B": [], "C": []}
            for i in range(args.rounds):
                for arm in ("ABC", "BCA", "CAB")[i % 3]:
                    if arm == "B":
                        matching._COMPARED.clear()
                    with words_only(arm == "A"):
                        started = time.perf_counter()
                        engine.search(SearchRequest(q=q, mode=mode, limit=10), DocumentFilter())
                        took = (time.perf_counter() - started) * 1000
                    if i >= 3:
                        times[arm].append(took)
            a, b, c = (statistics.median(times[arm]) for arm in "ABC")
            print(f"  {mode}: words {a:.1f} ms, value checked {b:.1f} ms (ratio {b / a:.2f}), remembered {c:.1f} ms (ratio {c / a:.2f})")
    print("loadavg after", open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
