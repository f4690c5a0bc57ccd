"""Two code versions, one index, requests interleaved: API latency of A vs B measured side by side.

Why: on a shared machine the load changes from minute to minute, so two latency runs taken at
different times do not compare. Here two uvicorn servers (one per source tree, same settings, same
index, same signing key) answer the same new queries one after the other, alternating which goes
first; the medians and the paired difference are then comparable.

    git archive <base-commit> | tar -x -C /tmp/base      # the "before" tree
    python -m bench.ab_latency var/bench/index-100k --a /tmp/base --b . --requests 100 --modes hybrid lexical
    python -m bench.ab_latency var/bench/index-100k --a /tmp/base --b . --requests 100 --modes "by patient"
    python -m bench.ab_latency var/bench/index-100k --a . --b . --b-env MEDSEARCH_SEARCH__DENSE_TRANSLATION=false
                                    # one tree, a setting flipped on B only: what that setting costs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from bench.latency import EXTRA_MODES, MODES, _bench_token, _free_port
from bench.synthetic import queries as make_queries


@contextmanager
def server(tree: Path, index_dir: Path, work: Path, name: str, port: int | None = None,
           extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """uvicorn (one worker, as deployed) running the code of *tree* over *index_dir*; *extra_env*: settings
    for this server only (an older tree may reject a setting it does not know)."""
    port = port or _free_port()
    (work / name).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(tree.resolve()),
        "MEDSEARCH_INDEX__DIR": str(index_dir.resolve()),
        "MEDSEARCH_API__AUDIT_LOG": str(work / name / "audit.log"),
        "MEDSEARCH_SECURITY__SECRETS_DIR": str(work / "secrets"),  # one key: one token for both servers
        "MEDSEARCH_SECURITY__RATE_LIMIT_PER_MINUTE": "0",
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "search_api.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with (work / name / "uvicorn.log").open("ab") as log:
        process = subprocess.Popen(command, env=env, cwd=tree, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900  # a loaded machine: the ONNX query graph takes minutes
        headers = _bench_token(work / "secrets")
        while True:
            try:
                if httpx.get(f"{url}/stats", timeout=60, headers=headers).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"API {name} did not start; see {work / name / 'uvicorn.log'}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments as an environment (a value may itself contain ``=``)."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def _untimed(body: dict) -> dict:
    """A response body without its timing (the one field two equal answers differ in)."""
    return {k: v for k, v in body.items() if k != "took_ms"}


def run(index_dir: Path, tree_a: Path, tree_b: Path, requests: int, modes: list[str], ports: tuple[int | None, int | None],
        envs: tuple[dict[str, str], dict[str, str]] = ({}, {}), seed: int = 11) -> dict:
    work = (index_dir.parent / "ab-logs").resolve()  # the servers run in their own trees: absolute paths
    # seed 1 with the mode first: the queries bench.latency sends in that mode (its pool, same warm-up)
    pool = make_queries(requests * len(modes) + 20, seed=seed)
    out: dict = {"index": str(index_dir), "a": str(tree_a), "b": str(tree_b), "a_env": envs[0], "b_env": envs[1],
                 "seed": seed, "modes": {}}
    with ExitStack() as stack:
        url_a = stack.enter_context(server(tree_a, index_dir, work, "a", ports[0], envs[0]))
        url_b = stack.enter_context(server(tree_b, index_dir, work, "b", ports[1], envs[1]))
        headers = _bench_token(work / "secrets")
        clients = {name: stack.enter_context(httpx.Client(base_url=url, timeout=60, headers=headers))
                   for name, url in (("a", url_a), ("b", url_b))}
        for text in pool[:10]:  # warm-up: first-call costs, page cache, encoder
            for client in clients.values():
                client.get("/search", params={**MODES["hybrid"], "q": text, "limit": 10}).raise_for_status()
        offset = 10
        for mode in modes:
            params = {**MODES, **EXTRA_MODES}[mode]
            path = params.get("_path", "/search")  # "by patient": GET /search/patients, same parameters
            params = {k: v for k, v in params.items() if k != "_path"}
            times: dict[str, list[float]] = {"a": [], "b": []}
            server_ms: dict[str, list[float]] = {"a": [], "b": []}
            totals_equal = bodies_equal = 0
            for i, text in enumerate(pool[offset : offset + requests]):
                order = ("a", "b") if i % 2 == 0 else ("b", "a")
                bodies = {}
                for name in order:
                    started = time.perf_counter()
                    response = clients[name].get(path, params={**params, "q": text, "limit": 10})
                    times[name].append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    bodies[name] = response.json()
                    server_ms[name].append(float(bodies[name].get("took_ms", "nan")))  # /search/patients has none
                totals_equal += all(bodies["a"][k] == bodies["b"][k] for k in ("total", "total_patients"))
                bodies_equal += _untimed(bodies["a"]) == _untimed(bodies["b"])
            offset += requests
            a, b = np.array(times["a"]), np.array(times["b"])
            out["modes"][mode] = {
                "requests": requests,
                "a_p50": round(float(np.median(a)), 1), "b_p50": round(float(np.median(b)), 1),
                "a_p95": round(float(np.percentile(a, 95)), 1), "b_p95": round(float(np.percentile(b, 95)), 1),
                "a_server_p50": round(float(np.median(server_ms["a"])), 1),
                "b_server_p50": round(float(np.median(server_ms["b"])), 1),
                "paired_median_diff_ms": round(float(np.median(b - a)), 1),
                "b_faster_share": round(float(np.mean(b < a)), 2),
                "same_totals": totals_equal,
                "same_bodies": bodies_equal,  # the whole JSON but took_ms: a change meant to keep outputs
            }
    return out


def table(result: dict) -> str:
    lines = ["| mode | requests | A p50 ms | B p50 ms | A p95 | B p95 | A server p50 | B server p50 | median(B−A) ms | B faster in | same totals | same body |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode, r in result["modes"].items():
        lines.append(f"| {mode} | {r['requests']} | {r['a_p50']} | {r['b_p50']} | {r['a_p95']} | {r['b_p95']} | "
                     f"{r['a_server_p50']} | {r['b_server_p50']} | {r['paired_median_diff_ms']} | "
                     f"{round(100 * r['b_faster_share'])} % | {r['same_totals']}/{r['requests']} | {r.get('same_bodies', '–')}/{r['requests']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--a", type=Path, required=True, help="source tree of version A (before)")
    parser.add_argument("--b", type=Path, default=Path("."), help="source tree of version B (after)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--modes", nargs="+", default=["hybrid", "lexical"], choices=[*MODES, *EXTRA_MODES])
    parser.add_argument("--ports", type=int, nargs=2, default=(None, None))
    parser.add_argument("--seed", type=int, default=11, help="query pool (1: bench.latency's queries)")
    parser.add_argument("--a-env", nargs="*", default=[], metavar="KEY=VALUE", help="environment of A's server only")
    parser.add_argument("--b-env", nargs="*", default=[], metavar="KEY=VALUE", help="environment of B's server only")
    args = parser.parse_args()
    envs = (parse_env(args.a_env), parse_env(args.b_env))
    result = run(args.index_dir, args.a, args.b, args.requests, args.modes, tuple(args.ports), envs, args.seed)
    print(table(result))
    print(json.dumps(result))
