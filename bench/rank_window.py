"""What one rank window per query (``search.rank_window``) costs a page, in process, against the page-dependent
depth it replaced (``max(candidates, 4 x (offset + limit))`` passages per leg).

A: the retrieval module of *--base* (git show, loaded beside this one, same backend and encoder);
B...: this checkout's engine at each ``--windows`` value. Per query and round, every variant runs once, in
shuffled order; per variant the median time, then the median over queries of each variant's ratio to A.
Pages: page 1 of 10, page 3 of 10 (offset 20), page 1 of 100. Load averages printed before and after.

    python -m bench.rank_window --base main                                   # the demo index (settings' index.dir)
    python -m bench.rank_window --base main --index var/bench/lexical-10000 --hash   # bench.lexical_overhead --build 10000
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

from indexer.settings import Settings, get_settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest

#: physician queries of the demo walkthrough (latency only: nothing is tuned on them)
QUERIES = ("IRM cérébrale AVC ischémique", "pneumothorax après pose de voie centrale", "IDM sans sus-décalage",
           "pleural effusion", "suspicion d'embolie pulmonaire", "BPCO", "HTA", "pneumotorax", "epanchement pleural",
           "douleur thoracique", "diabète de type 2", "AVC", "insuffisance cardiaque", "fracture du col du fémur",
           "embolie pulmonaire", "sans épanchement pleural", "cancer du sein", "méningiome", "appendicite", "tabagisme")
PAGES = {"p1 of 10": (0, 10), "p3 of 10": (20, 10), "p1 of 100": (0, 100)}


def _old_engine_class(base: str) -> type:
    source = subprocess.run(["git", "show", f"{base}:search_api/retrieval.py"], check=True, capture_output=True, text=True).stdout
    source = source.replace("self.settings.candidates", "self.settings.rank_window")  # the setting's new name, same value
    module = types.ModuleType("_base_retrieval")
    module.__file__ = f"<{base}:search_api/retrieval.py>"
    sys.modules[module.__name__] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - the repository's own file
    return module.SearchEngine


def walk(engine, query: str, mode: str = "hybrid", limit: int = 10) -> tuple[int, int, int, int, list[int]]:  # noqa: ANN001
    """Page through *query* as the portal offers it (up to max(total, ranked) results): (results shown,
    distinct documents, term-matching documents never shown, total, each page's ``ranked``)."""
    shown: list[str] = []
    ranked: list[int] = []
    available, offset = 1, 0
    while offset < available and offset < 2000:
        response = engine.search(SearchRequest(q=query, mode=mode, offset=offset, limit=limit))
        shown += [r.id for r in response.results]
        ranked.append(response.ranked)
        available = max(available, response.total, response.ranked)
        offset += limit
    plan = engine.plan(SearchRequest(q=query))
    from indexer.backend.filters import DocumentFilter

    matching = engine.backend.lexical_matching_documents(plan.lexical_text, DocumentFilter(), plan.lexical_statuses, plan.concepts,
                                                          plan.required) if hasattr(engine.backend, "lexical_matching_documents") else set()
    return len(shown), len(set(shown)), len(set(matching) - set(shown)), response.total, ranked


def quality(engines: list, names: list[str]) -> None:  # noqa: ANN001
    """The demo eval's hybrid+medical rankings (eval.run_clinical) at 100 and at 10 results, B vs A, paired."""
    from eval.query_set import load_queries
    from eval.run_clinical import SYSTEMS, canonical_relevance, run_system, source_aliases
    from eval.significance import compare

    queries = load_queries(Path("eval/queries.yaml"))
    aliases = source_aliases(engines[1])
    qrels = {q.id: canonical_relevance(q.relevant, aliases) for q in queries}
    for limit in (100, 10):
        a, b = (run_system(engine, queries, SYSTEMS["hybrid+medical"], limit=limit) for engine in engines)
        changed = sum(a[q] != b[q] for q in a)
        top10 = sum(a[q][:10] != b[q][:10] for q in a)
        for metric, c in compare(b, a, qrels, ("ndcg_burges@10", "recall@10"), binary=False).items():
            print(f"{limit} results: {metric} {names[0]} {c.baseline:.3f} -> {names[1]} {c.system:.3f} (p = {c.p_value:.3f}, "
                  f"W/T/L {c.wins}/{c.ties}/{c.losses}); rankings changed {changed}/{len(a)}, top 10 changed {top10}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="main")
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--hash", action="store_true", help="the benchmarks' hash encoder (a bench.lexical_overhead index)")
    parser.add_argument("--windows", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--modes", nargs="+", default=["hybrid", "lexical"])
    parser.add_argument("--pages", nargs="+", default=list(PAGES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--synthetic-queries", action="store_true", help="20 of bench.synthetic's queries (seed 7), "
                        "not the physician ones: what a synthetic index's reports match")
    parser.add_argument("--quality", action="store_true", help="the demo eval's hybrid+medical rows (100 and 10 results), "
                        "A vs B at the first window, paired (eval.significance.compare), then stop")
    parser.add_argument("--walk", nargs="*", default=None, help="page 10 by 10 through these queries (A and B at the first window), then stop")
    args = parser.parse_args()
    settings = get_settings() if args.index is None else Settings(index={"dir": args.index})
    encoder = None
    if args.hash:
        from bench.lexical_overhead import HashEncoder

        encoder = HashEncoder()
    new = build_engine(settings, encoder) if encoder else build_engine(settings)
    old = _old_engine_class(args.base)(new.backend, new.encoder, new.settings, new.text_to_image)
    engines = {f"A {args.base} (page depth)": old}
    for window in args.windows:
        from search_api.retrieval import SearchEngine

        engines[f"B window {window}"] = SearchEngine(new.backend, new.encoder, new.settings.model_copy(update={"rank_window": window}),
                                                     new.text_to_image)
    for engine in engines.values():
        engine.warm_up()
    if args.quality:
        quality(list(engines.values())[:2], list(engines)[:2])
        return
    if args.walk is not None:
        for query in args.walk or ["épanchement pleural", "pneumothorax", "embolie pulmonaire", "insuffisance cardiaque", "BPCO"]:
            for name, engine in list(engines.items())[:2]:
                shown, distinct, missed, total, ranked = walk(engine, query)
                print(f"{query}: {name}: {shown} shown, {distinct} distinct, {missed} of {total} term matches never shown, "
                      f"ranked per page {sorted(set(ranked))}", flush=True)
        return
    queries = QUERIES
    if args.synthetic_queries:
        from bench.synthetic import queries as make_queries

        queries = tuple(make_queries(len(QUERIES), seed=7))
    print("load before", open("/proc/loadavg").read().strip(), flush=True)
    for mode in args.modes:
        for page_name in args.pages:
            offset, limit = PAGES[page_name]
            times: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
            for round_ in range(args.rounds + 1):  # round 0 warms each engine's query vectors and memos
                for query in queries:
                    request = SearchRequest(q=query, mode=mode, offset=offset, limit=limit)
                    order = list(engines.items())
                    random.shuffle(order)
                    for name, engine in order:
                        started = time.perf_counter()
                        engine.search(request)
                        if round_:
                            times[name].setdefault(query, []).append((time.perf_counter() - started) * 1000)
            base = next(iter(times))
            row = []
            for name, by_query in times.items():
                median = statistics.median(t for ts in by_query.values() for t in ts)
                ratio = statistics.median(statistics.median(by_query[q]) / statistics.median(times[base][q]) for q in by_query)
                row.append(f"{name}: {median:.1f} ms (x{ratio:.2f})")
            print(f"{mode:7} {page_name:10} " + " | ".join(row), flush=True)
    print("load after", open("/proc/loadavg").read().strip(), flush=True)


if __name__ == "__main__":
    main()
