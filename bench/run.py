"""All benchmarks in one command; prints Markdown tables and saves JSON under ``var/bench/``.

    python -m bench.run --small      # a few minutes: 10k passages (make bench)
    python -m bench.run              # 10k and 100k passages, FAISS choice at 100k and 1M (≈ 40 min)
    python -m bench.run --scale 1000000 --skip-throughput --skip-faiss   # the 1M API run (long, < 24 GB)

Indexes built here are reused by later runs (delete ``var/bench`` to rebuild).

The backend is the configured one: every build and query goes through the storage interface, so
``MEDSEARCH_BACKEND__KIND=elasticsearch MEDSEARCH_BACKEND__URL=http://127.0.0.1:9200 make bench`` runs the
same benchmark on a cluster (bench indices under ``<prefix>-bench-*``). There ``--small`` means 1k
passages and 10 requests per row (the noida-db test server answers in seconds, not milliseconds), and
the FAISS comparison (the embedded dense store's own index choice) is skipped; ``--scale`` and
``--requests`` override the sizes on either backend.
"""

from __future__ import annotations

import argparse
import json
import time

from bench import breakdown, encoder_speed, faiss_choice, latency, throughput
from bench.build import ROOT, build, index_dir_for, label
from indexer.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="10k passages only, short loops")
    parser.add_argument("--scale", type=int, nargs="+", help="passage counts for the API latency runs")
    parser.add_argument("--faiss-sizes", type=int, nargs="*", help="vector counts for the FAISS comparison")
    parser.add_argument("--requests", type=int, help="requests per mode and client setting")
    parser.add_argument("--throughput-reports", type=int, help="reports (3 passages each) indexed with the real encoder")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-faiss", action="store_true")
    parser.add_argument("--skip-encoder", action="store_true", help="skip passage embedding vs the FLOP limit")
    parser.add_argument("--skip-breakdown", action="store_true", help="skip the in-process stage breakdown")
    args = parser.parse_args()

    backend = Settings().backend.kind
    es = backend == "elasticsearch"
    scales = args.scale or ([1_000] if es and args.small else [10_000] if args.small else [10_000, 100_000])
    faiss_sizes = args.faiss_sizes if args.faiss_sizes is not None else ([30_000] if args.small else [100_000, 1_000_000])
    if es and args.faiss_sizes is None:
        faiss_sizes = []
        print("FAISS index choice skipped: it compares the embedded backend's dense store (bench/faiss_choice.py)\n")
    requests = args.requests or (10 if es and args.small else 80 if args.small else 200)
    results: dict = {"started": time.strftime("%Y-%m-%d %H:%M"), "backend": backend, "scales": {}}
    print(f"Backend: {backend}" + (f" ({Settings().backend.url})" if es else "") + "\n", flush=True)

    if not args.skip_encoder:
        results["encoder_speed"] = encoder_speed.run(256 if args.small else 512)
        print("## Passage embedding vs the machine's fp32 FLOP limit\n\n" + encoder_speed.table(results["encoder_speed"]) + "\n", flush=True)

    if not args.skip_throughput:
        results["throughput"] = throughput.run(args.throughput_reports or (100 if es and args.small else 300 if args.small else 1000))
        print("## Indexing throughput (real encoder)\n\n" + throughput.table(results["throughput"]) + "\n", flush=True)

    for passages in scales:
        facts = build(passages)
        index_dir = index_dir_for(passages)
        warm_up = 3 if es else 10
        measured = latency.run(index_dir, requests, concurrent=2 if es else 8, warm_up=warm_up)
        stages = None if args.skip_breakdown else breakdown.run(index_dir, min(requests, 100), warm_up=warm_up)
        results["scales"][label(passages)] = {"index": facts, "latency": measured, "stages": stages}
        print(f"## API latency at {label(passages)} passages, {backend} ({facts['passages']} indexed, dense kind {facts['dense_kind']}, "
              f"{facts['disk_mb']['total']} MB on disk, API RSS {measured['rss_mb']} MB, peak {measured['peak_rss_mb']} MB)\n")
        print(latency.table(measured) + "\n", flush=True)
        if stages is not None:
            print(f"Where a hybrid query's time goes (in-process, {label(passages)}):\n\n{breakdown.table(stages)}\n", flush=True)
        print(f"index build (synthetic, derived vectors): {json.dumps(facts['seconds'])}\n", flush=True)

    if not args.skip_faiss and faiss_sizes:
        rows = [row for size in faiss_sizes for row in faiss_choice.compare(size, hnsw=size <= 100_000)]
        results["faiss"] = rows
        print("## FAISS index choice\n\n" + faiss_choice.table(rows) + "\n", flush=True)

    out = ROOT / f"results-{backend}-{'small' if args.small else 'full'}-{time.strftime('%Y%m%d-%H%M')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
