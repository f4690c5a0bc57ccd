"""Where a hybrid query's time goes, stage by stage, in-process (no HTTP), on one index.

Each stage is timed on its own, one query at a time, with queries never seen before (so the
query-embedding cache never answers): planning (polarity, lexicon), the lexical leg (Tantivy),
the same with the exact document and patient counts (what a search runs), the query embedding (the encoder alone), the dense search (FAISS) and the whole
``SearchEngine.search`` (both legs, fusion, SQLite reads, snippets). The whole is less than the sum
when the legs overlap, and more by what is not listed (fusion, fetching, snippets).

    python -m bench.breakdown var/bench/index-100k
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.synthetic import queries as make_queries
from indexer.encoders import load_encoder
from indexer.backend.filters import DocumentFilter
from indexer.settings import Settings
from search_api.models import SearchRequest
from search_api.query_plan import plan_query
from search_api.engine_factory import build_engine

STAGES = ("plan", "lexical leg", "lexical leg + exact counts", "query embedding", "plan as searched",
          "query embedding as searched", "dense search", "whole search")


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def run(index_dir: Path, count: int = 100, warm_up: int = 10, base: Settings | None = None,
        words: list[int] | None = None) -> dict[str, dict[str, float]]:
    """p50/p95 (ms) of each stage over *count* fresh queries, on the bench index named by *index_dir*
    on the configured backend (through the storage interface only); *words* receives the word count
    of each dense text as searched."""
    from bench.build import bench_settings

    settings = bench_settings(index_dir, base)
    encoder = load_encoder(settings.encoder)
    engine = build_engine(settings, encoder)
    engine.warm_up()
    texts = make_queries(2 * count + warm_up, seed=7)
    for text in texts[:warm_up]:
        engine.search(SearchRequest(q=text))
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    tokens: list[int] = []  # words of the dense text as searched
    depth = getattr(settings.search, "rank_window", None) or settings.search.candidates
    for text in texts[warm_up : warm_up + count]:
        started = time.perf_counter()
        plan = plan_query(SearchRequest(q=text))
        times["plan"].append(_ms(started))
        started = time.perf_counter()
        engine.backend.lexical_search(plan.lexical_text, depth, DocumentFilter(), plan.lexical_statuses, plan.concepts, plan.required)
        times["lexical leg"].append(_ms(started))
        started = time.perf_counter()  # what the product calls: the same head plus every match counted
        engine.backend.lexical_search_counted(plan.lexical_text, depth, DocumentFilter(), plan.lexical_statuses, plan.concepts, plan.required)
        times["lexical leg + exact counts"].append(_ms(started))
        started = time.perf_counter()
        vector = encoder.encode_queries([plan.dense_text or text])[0]
        times["query embedding"].append(_ms(started))
        # what a search embeds: the engine's plan (dense translation, cognates: a French query's dense
        # text also carries English names, more tokens to embed) where this version has one
        started = time.perf_counter()
        searched = engine.plan(SearchRequest(q=text)) if hasattr(engine, "plan") else plan
        times["plan as searched"].append(_ms(started))
        dense_text = searched.dense_text or text
        tokens.append(len(dense_text.split()))
        started = time.perf_counter()
        encoder.encode_queries([dense_text])
        times["query embedding as searched"].append(_ms(started))
        started = time.perf_counter()
        engine.backend.dense_search(vector, depth)
        times["dense search"].append(_ms(started))
    for text in texts[warm_up + count :]:
        started = time.perf_counter()
        engine.search(SearchRequest(q=text))
        times["whole search"].append(_ms(started))
    if words is not None:
        words += tokens
    return {
        stage: {"p50": round(float(np.percentile(v, 50)), 1), "p95": round(float(np.percentile(v, 95)), 1)}
        for stage, v in times.items()
    }


def table(result: dict[str, dict[str, float]]) -> str:
    lines = ["| stage | p50 ms | p95 ms |", "|---|---|---|"]
    lines += [f"| {stage} | {v['p50']} | {v['p95']} |" for stage, v in result.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    words: list[int] = []
    print(table(run(args.index_dir, args.queries, words=words)))
    print(f"dense text as searched: median {np.median(words):.0f} words, p95 {np.percentile(words, 95):.0f}")
