"""CPU time of a one-criterion cohort (``POST /cohorts/evaluate`` with a query) through the API, in process.

Why: a query criterion checks every document matching the query (thousands at 100k passages) and
shows up to three pieces of evidence per patient, each with a snippet; this is what that costs. The
request runs in FastAPI's TestClient (routing, authentication, audit, JSON), timed in process CPU
(the endpoint runs in a worker thread: thread time would miss it), first ``--skip`` queries left out.

    python -m bench.cohort_cpu var/bench/index-100k --queries 12

Run it with another tree first on the path for a before/after comparison
(``cd /tmp/base && PYTHONPATH=/tmp/base python -m bench.cohort_cpu …``): it uses interfaces that tree has too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def run(index_dir: Path, n_queries: int, skip: int = 2) -> dict:
    work = Path(tempfile.mkdtemp(prefix="medsearch-cohort-cpu-"))
    os.environ["MEDSEARCH_SECURITY__SECRETS_DIR"] = str(work / "secrets")
    os.environ["MEDSEARCH_SECURITY__RATE_LIMIT_PER_MINUTE"] = "0"
    from fastapi.testclient import TestClient

    from bench.latency import _bench_token
    from bench.synthetic import queries as make_queries
    from indexer.settings import Settings
    from search_api.app import create_app

    settings = Settings(index={"dir": index_dir.resolve()}, api={"audit_log": work / "audit.log", "user_data": work / "user.sqlite"})
    client = TestClient(create_app(settings), headers=_bench_token(work / "secrets"))
    spent, patients = [], []
    for i, text in enumerate(make_queries(n_queries + skip, seed=29)):
        started = time.process_time()
        response = client.post("/cohorts/evaluate", json={"criteria": [{"q": text}]})
        elapsed = (time.process_time() - started) * 1000
        response.raise_for_status()
        if i >= skip:  # the first ones load the lexicon and fill the read caches
            spent.append(elapsed)
            patients.append(len(response.json()["patients"]))
    return {"index": str(index_dir), "queries": len(spent), "cpu_p50_ms": round(statistics.median(spent)),
            "cpu_mean_ms": round(statistics.mean(spent)), "patients_p50": statistics.median(patients)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--queries", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.index_dir, args.queries)))
