"""Peak memory of an IVF retraining, chunked refill vs all vectors at once (issue #11 item 2).

Why: the 100k streaming run's memory peak was the dense index's retraining (at 4× growth it decoded
every stored vector to float32 beside the old and the new index). The refill now goes by chunks of
``IVF_FILL_CHUNK``; this measures the peak RSS of the retraining alone, in a fresh subprocess per run,
with the chunk as set and with one chunk holding everything (the former behaviour), interleaved.

    python -m bench.ivf_retrain_rss --passages 400000 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import numpy as np

_CHILD = r"""
import json, sys
import numpy as np
from indexer.backend.embedded import dense
from indexer.settings import DenseSettings
n, chunk = int(sys.argv[1]), int(sys.argv[2])
dense.IVF_FILL_CHUNK = chunk
rng = np.random.default_rng(0)
index = dense.DenseIndex(384, settings=DenseSettings())
first = n // 4 + 1                                 # trained on a quarter of the corpus: 4x growth retrains
sizes = [first] + [25_000] * ((n - first) // 25_000) + [(n - first) % 25_000]
start = 0
for size in filter(None, sizes):
    block = rng.standard_normal((size, 384), dtype=np.float32)
    block /= np.linalg.norm(block, axis=1, keepdims=True)
    index.add(list(range(start, start + size)), block)
    start += size
    if index.kind == "flat":
        index.apply_size_policy()                  # flat -> IVF (n // 4 must exceed dense.flat_max)
del block
def rss():
    return {k: int(v.split()[0]) // 1024 for k, v in (l.split(":", 1) for l in open("/proc/self/status")) if k in ("VmRSS", "VmHWM")}
before = rss()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                   # reset VmHWM to the current RSS
assert index.needs_retraining()
index.apply_size_policy()
after = rss()
print(json.dumps({"rss_before_mb": before["VmRSS"], "peak_during_mb": after["VmHWM"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=400_000, help="4 × the trained size; n/4 > dense.flat_max")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    from indexer.backend.embedded.dense import IVF_FILL_CHUNK

    variants = {f"chunked ({IVF_FILL_CHUNK:,} at a time)": IVF_FILL_CHUNK, "all at once (before)": 10**9}
    rows: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, chunk in variants.items():  # interleaved
            out = subprocess.run([sys.executable, "-c", _CHILD, str(args.passages), str(chunk)],
                                 capture_output=True, text=True, check=True)
            rows[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"| retraining of {args.passages:,} passages (384-d) | RSS before MB | peak during MB | transient MB |")
    print("|---|---|---|---|")
    for name, runs in rows.items():
        before = statistics.median(r["rss_before_mb"] for r in runs)
        peak = statistics.median(r["peak_during_mb"] for r in runs)
        print(f"| {name} | {before:.0f} | {peak:.0f} | {peak - before:.0f} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
