"""Query latency through the HTTP API: uvicorn on 127.0.0.1 in a subprocess, httpx clients, bounded loops.

Every request uses a query never sent before, so the API's query-embedding LRU cache never answers and
each dense/hybrid request pays the encoder. Latency is measured by the client (request sent → JSON
parsed). The server's resident memory is read from /proc after the runs.

    python -m bench.latency var/bench/index-100k --requests 200
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench.synthetic import queries as make_queries
from indexer.settings import Settings

# name → extra GET parameters. "filters" = kind + a one-year date window (~10% of reports);
# "patient" = one patient's reports (~60 passages), the narrowest filter.
MODES: dict[str, dict] = {
    "lexical": {"mode": "lexical"},
    "dense": {"mode": "dense"},
    "hybrid": {"mode": "hybrid"},
    "hybrid + filters": {"mode": "hybrid", "kinds": "report", "date_from": "2019-01-01", "date_to": "2019-12-31"},
    "hybrid + patient": {"mode": "hybrid", "patient_id": "P0000042"},
}
#: the same query grouped by patient (``GET /search/patients``: exact document and patient counts,
#: patients ranked by their best documents); not in the default rows (``--modes`` asks for it)
EXTRA_MODES: dict[str, dict] = {
    "by patient": {"mode": "hybrid", "_path": "/search/patients"},
    "lexical by patient": {"mode": "lexical", "_path": "/search/patients"},
}


@dataclass
class LatencyRow:
    mode: str
    clients: int
    requests: int
    p50: float
    p95: float
    p99: float
    server_p50: float
    qps: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of *pid* in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


_AUTH: dict[str, str] = {}


def _bench_token(secrets_dir: Path) -> dict[str, str]:
    """An Authorization header for a clinician + admin of the API's local issuer (key in *secrets_dir*)."""
    from indexer.settings import SecuritySettings
    from search_api.security.secrets import signing_key
    from search_api.security.tokens import issue_token

    issuer = SecuritySettings().local_issuer
    token = issue_token(signing_key(secrets_dir), issuer, "bench", ["clinician", "admin"], minutes=24 * 60)
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def api_server(index_dir: Path, log_dir: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run the API (one uvicorn worker, as deployed) over *index_dir*; yield (base url, process)."""
    port = _free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "MEDSEARCH_INDEX__DIR": str(index_dir),
        "MEDSEARCH_API__AUDIT_LOG": str(log_dir / "audit.log"),
        # the bench authenticates like the portal (a Bearer token of the API's own issuer) and must
        # not be throttled by the per-identity rate limit
        "MEDSEARCH_SECURITY__SECRETS_DIR": str(log_dir / "secrets"),
        "MEDSEARCH_SECURITY__RATE_LIMIT_PER_MINUTE": "0",
        **(env or {}),
    }
    _AUTH.clear()
    _AUTH.update(_bench_token(log_dir / "secrets"))
    command = [sys.executable, "-m", "uvicorn", "search_api.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with (log_dir / "uvicorn.log").open("ab") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/stats", timeout=60, headers=_AUTH).status_code == 200:  # loads encoder and index
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"API did not start; see {log_dir / 'uvicorn.log'}")
            time.sleep(0.5)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client_loop(url: str, params: dict, texts: list[str], out: list[tuple[float, float]]) -> None:
    path = params.get("_path", "/search")
    params = {k: v for k, v in params.items() if k != "_path"}
    with httpx.Client(base_url=url, timeout=60, headers=_AUTH) as client:
        for text in texts:
            started = time.perf_counter()
            response = client.get(path, params={**params, "q": text, "limit": 10})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            out.append((elapsed, float(response.json().get("took_ms", "nan"))))  # /search/patients has no took_ms


def measure(url: str, mode: str, texts: list[str], clients: int) -> LatencyRow:
    """Send *texts* (each once) split over *clients* concurrent clients; return percentiles in ms."""
    per_client = [texts[i::clients] for i in range(clients)]
    results: list[list[tuple[float, float]]] = [[] for _ in range(clients)]
    params = {**MODES, **EXTRA_MODES}[mode]
    threads = [threading.Thread(target=_client_loop, args=(url, params, part, out)) for part, out in zip(per_client, results)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    client_ms = np.array([r[0] for out in results for r in out])
    server_ms = np.array([r[1] for out in results for r in out])
    p50, p95, p99 = np.percentile(client_ms, [50, 95, 99])
    server_p50 = float(np.median(server_ms)) if not np.isnan(server_ms).any() else float("nan")
    return LatencyRow(mode, clients, len(client_ms), p50, p95, p99, server_p50, len(client_ms) / wall)


def run(index_dir: Path, requests: int, concurrent: int = 8, modes: list[str] | None = None, warm_up: int = 10,
        base: Settings | None = None, clients: tuple[int, ...] | None = None) -> dict:
    """Latency rows for every mode, for each client count in *clients* (default: single client then
    *concurrent* clients); plus the server's RSS.

    The API serves the bench index named by *index_dir* on the configured backend
    (:func:`bench.build.bench_settings`: on Elasticsearch, its own prefix); *base*: settings to start
    from (default: the environment's)."""
    from bench.build import bench_env, bench_settings

    modes = modes or list(MODES)
    pool = make_queries(2 * requests * len(modes) + 2 * warm_up)
    rows: list[LatencyRow] = []
    with api_server(index_dir, index_dir.parent / "logs", env=bench_env(bench_settings(index_dir, base))) as (url, process):
        _client_loop(url, MODES["hybrid"], pool[:warm_up], [])  # warm-up: first-call costs, page cache
        offset = warm_up
        for mode in modes:
            for count in clients or (1, concurrent):
                rows.append(measure(url, mode, pool[offset : offset + requests], count))
                offset += requests
        rss, peak = rss_mb(process.pid)
    return {"rows": [row.__dict__ for row in rows], "rss_mb": round(rss), "peak_rss_mb": round(peak)}


def interleaved(index_dir: Path, modes: list[str], rounds: int, per_round: int) -> dict:
    """One client, the *modes* taking turns: *rounds* rounds of *per_round* new queries per mode, so a
    load change on a shared machine hits every row alike (compare rows as ratios)."""
    params = {**MODES, **EXTRA_MODES}
    pool = make_queries(rounds * per_round * len(modes) + 20)
    samples: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    with api_server(index_dir, index_dir.parent / "logs") as (url, process):
        for mode in modes:  # warm-up of each endpoint and mode
            _client_loop(url, params[mode], pool[:3], [])
        offset = 20
        for _ in range(rounds):
            for mode in modes:
                _client_loop(url, params[mode], pool[offset : offset + per_round], samples[mode])
                offset += per_round
        rss, peak = rss_mb(process.pid)
    rows = []
    for mode, got in samples.items():
        client_ms = np.array([c for c, _ in got])
        server_ms = np.array([s for _, s in got])
        p50, p95, p99 = np.percentile(client_ms, [50, 95, 99])
        server = float(np.median(server_ms)) if not np.isnan(server_ms).any() else float("nan")
        rows.append(LatencyRow(mode, 1, len(client_ms), p50, p95, p99, server, len(client_ms) / (client_ms.sum() / 1000)).__dict__)
    return {"rows": rows, "rss_mb": round(rss), "peak_rss_mb": round(peak)}


def table(result: dict) -> str:
    lines = ["| mode | clients | requests | p50 ms | p95 ms | p99 ms | server p50 ms | req/s |", "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['mode']} | {r['clients']} | {r['requests']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                     f"{r['p99']:.1f} | {r['server_p50']:.1f} | {r['qps']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--modes", nargs="+", choices=[*MODES, *EXTRA_MODES], help="rows to run (default: every /search row)")
    parser.add_argument("--clients", type=int, nargs="+", help="client counts (default: 1 and 8)")
    parser.add_argument("--interleave", type=int, metavar="ROUNDS",
                        help="one client, the --modes taking turns in ROUNDS rounds of --requests/ROUNDS queries each")
    args = parser.parse_args()
    if args.interleave:
        chosen = args.modes or list(MODES)
        result = interleaved(args.index_dir, chosen, args.interleave, max(1, args.requests // args.interleave))
    else:
        result = run(args.index_dir, args.requests, modes=args.modes, clients=tuple(args.clients) if args.clients else None)
    print(table(result))
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
