"""Lexical search through the whole HTTP API in process vs ``SearchEngine.search`` alone.

Why: results are validated once, inside the engine (one pydantic-core call per page); the API's
response model must not validate them again nor cost more to serialise. This measures, on the
index of :mod:`bench.lexical_overhead`, the CPU time of a ``GET /search?mode=lexical`` request
(FastAPI's TestClient: routing, authentication, audit record, response model, JSON) next to the
engine call alone, at 10 and 100 results, each row on queries no other row sent.

    python -m bench.api_overhead var/bench/lexical-10000 --queries 100

Run the same file against another tree (``PYTHONPATH=/tmp/base python bench/api_overhead.py …``)
for a before/after comparison: it only uses interfaces that tree has too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def _cpu_ms(fn, items) -> float:  # noqa: ANN001
    """Median process CPU time of ``fn(item)`` in ms (the endpoint runs in a worker thread of the
    TestClient's event loop: thread time would miss it)."""
    spent = []
    for item in items:
        started = time.process_time()
        fn(item)
        spent.append((time.process_time() - started) * 1000)
    return statistics.median(spent)


def run(index_dir: Path, n_queries: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="medsearch-api-overhead-"))
    os.environ["MEDSEARCH_SECURITY__SECRETS_DIR"] = str(work / "secrets")
    os.environ["MEDSEARCH_SECURITY__RATE_LIMIT_PER_MINUTE"] = "0"
    from fastapi.testclient import TestClient

    from bench.latency import _bench_token
    from bench.lexical_overhead import HashEncoder
    from bench.synthetic import queries as make_queries
    from indexer.settings import Settings
    from search_api.app import create_app
    from search_api.models import SearchRequest

    settings = Settings(index={"dir": index_dir}, api={"audit_log": work / "audit.log", "user_data": work / "user.sqlite"})
    client = TestClient(create_app(settings, encoder=HashEncoder()), headers=_bench_token(work / "secrets"))
    texts = make_queries(4 * n_queries + 20, seed=13)
    warm, texts = texts[:20], texts[20:]
    for text in warm:
        client.get("/search", params={"q": text, "mode": "lexical", "limit": 100}).raise_for_status()
    from search_api.engine_factory import build_engine

    engine = build_engine(settings, HashEncoder(), clip=False)
    for text in warm:
        engine.search(SearchRequest(q=text, mode="lexical", limit=100))
    out: dict = {"index": str(index_dir), "queries": n_queries, "rows": {}}
    for i, k in enumerate((10, 100)):
        api_queries = texts[2 * i * n_queries : (2 * i + 1) * n_queries]
        engine_queries = texts[(2 * i + 1) * n_queries : (2 * i + 2) * n_queries]
        sizes: list[int] = []

        def request(text: str) -> None:
            response = client.get("/search", params={"q": text, "mode": "lexical", "limit": k})
            response.raise_for_status()
            sizes.append(len(response.content))

        api = _cpu_ms(request, api_queries)
        alone = _cpu_ms(lambda text: engine.search(SearchRequest(q=text, mode="lexical", limit=k)), engine_queries)
        out["rows"][f"top {k}"] = {
            "api_cpu_ms": round(api, 3), "engine_cpu_ms": round(alone, 3),
            "api_minus_engine_ms": round(api - alone, 3), "response_kb": round(statistics.median(sizes) / 1000, 1),
        }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", type=Path, help="an index built by bench.lexical_overhead --build")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    result = run(args.index, args.queries)
    print("| results | API request CPU p50 ms | SearchEngine.search CPU p50 ms | API − engine ms | response kB |")
    print("|---|---|---|---|---|")
    for name, row in result["rows"].items():
        print(f"| {name} | {row['api_cpu_ms']} | {row['engine_cpu_ms']} | {row['api_minus_engine_ms']} | {row['response_kb']} |")
    print(json.dumps(result))
