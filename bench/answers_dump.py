"""Dump what a tree's ``SearchEngine.search`` answers for a query set, to diff two trees.

Why: a change meant to make search cheaper (#14 item 3) must not change a single ranked id or
count. Run it once per tree on the same index and ``diff`` the outputs: one JSON line per
(query, mode, limit) with the ranked document ids, each result's context label, ``total``,
``total_patients``, ``total_affirmed`` and ``total_patients_affirmed``.

    PYTHONPATH=<tree> python -m bench.answers_dump var/bench/lexical-10000 --bench-queries 100 > a.jsonl
    PYTHONPATH=<tree> python -m bench.answers_dump var/index --eval-queries eval/queries.yaml --modes lexical hybrid > b.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path


def _queries(bench_queries: int, eval_path: Path | None) -> list[str]:
    """The bench's synthetic queries (those ``bench.lexical_overhead`` times) and/or an eval file's."""
    texts: list[str] = []
    if bench_queries:
        from bench.synthetic import queries as make_queries

        texts += make_queries(4 * bench_queries + 10, seed=7)  # the timed, warm-up and first-seen ones
    if eval_path is not None:
        from eval.query_set import load_queries

        texts += [q.query for q in load_queries(eval_path)]
    return list(dict.fromkeys(texts))


def answers(index_dir: Path, texts: Iterable[str], modes: list[str], limits: list[int], real_encoder: bool,
            offsets: Iterable[int] = (0,)) -> Iterable[dict]:
    """One record per (query, mode, limit, offset): what the product answers, without timings."""
    os.environ.setdefault("MEDSEARCH_SECURITY__SECRETS_DIR", tempfile.mkdtemp())
    from indexer.backend.filters import DocumentFilter
    from indexer.settings import Settings
    from search_api.engine_factory import build_engine
    from search_api.models import SearchRequest

    settings = Settings(index={"dir": index_dir})
    if real_encoder:
        from indexer.encoders import load_encoder

        encoder = load_encoder(settings.encoder)
    else:
        from bench.lexical_overhead import HashEncoder

        encoder = HashEncoder()
    engine = build_engine(settings, encoder, clip=False)
    for text in texts:
        for mode in modes:
            for limit, offset in ((limit, offset) for limit in limits for offset in offsets):
                r = engine.search(SearchRequest(q=text, mode=mode, limit=limit, offset=offset), DocumentFilter())
                yield {"q": text, "mode": mode, "limit": limit, "offset": offset, "total": r.total, "total_patients": r.total_patients,
                       "total_affirmed": r.total_affirmed, "total_patients_affirmed": r.total_patients_affirmed,
                       "ranked": r.ranked, "ids": [x.id for x in r.results], "contexts": [x.context for x in r.results]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path)
    parser.add_argument("--bench-queries", type=int, default=0, help="bench.lexical_overhead's --queries")
    parser.add_argument("--eval-queries", type=Path, default=None, help="an eval query file (eval/queries.yaml)")
    parser.add_argument("--modes", nargs="+", default=["lexical"])
    parser.add_argument("--limits", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--offsets", nargs="+", type=int, default=[0], help="pages past the rank window: deeper tiers")
    args = parser.parse_args()
    needs_encoder = any(m != "lexical" for m in args.modes)
    for record in answers(args.index, _queries(args.bench_queries, args.eval_queries), args.modes, args.limits, needs_encoder, args.offsets):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
