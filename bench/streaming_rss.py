"""Indexing memory vs corpus size (issue #11 item 2): peak RSS of a whole indexing run at 10k and 100k
documents. The run streams (``index.batch_files`` files per batch, each committed), so what grows with
the corpus is only the index itself (FAISS vectors in RAM: 1.5 kB per passage flat, ~0.4 kB once
IVF-SQ8), the known content hashes and the link table (a few hundred bytes per document).

Synthetic reports (``bench/synthetic.py``, 3 passages each) and derived vectors (``DerivedEncoder``:
real sentence vectors summed, as the other scale benchmarks do), so the encoder's speed does not
make a 100k run take hours; the pipeline, the stores and the batching are the real ones. The run is
a subprocess; its RSS is sampled from /proc every 0.2 s.

    python -m bench.streaming_rss --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path


def _child(sources: Path, index: Path, batch_files: int) -> None:
    from bench.build import derived_encoder
    from indexer.pipeline import index_paths
    from indexer.settings import Settings

    settings = Settings(index={"dir": index, "batch_files": batch_files})
    encoder = derived_encoder(settings)
    ready = _rss_kb()
    started = time.perf_counter()
    report = index_paths([sources], settings, encoder, rebuild=True)
    print(json.dumps({"documents": report.documents_added, "passages": report.passages_added,
                      "seconds": round(time.perf_counter() - started, 1), "rss_ready_mb": round(ready / 1024)}), flush=True)


def _rss_kb(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(documents: int, root: Path, batch_files: int) -> dict:
    from bench.synthetic import write_reports

    sources, index = root / f"sources-{documents}", root / f"index-{documents}"
    if not sources.exists():
        write_reports(documents, sources)
    shutil.rmtree(index, ignore_errors=True)
    child = subprocess.Popen([sys.executable, "-m", "bench.streaming_rss", "--child", str(sources), str(index), str(batch_files)],
                             stdout=subprocess.PIPE, text=True)
    peak, samples = 0, []
    while child.poll() is None:
        try:
            rss = _rss_kb(str(child.pid))
        except (FileNotFoundError, ProcessLookupError):
            break
        peak = max(peak, rss)
        samples.append(rss)
        time.sleep(0.2)
    out = json.loads(child.stdout.read().strip().splitlines()[-1])
    return {**out, "peak_rss_mb": round(peak / 1024), "batch_files": batch_files}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--root", type=Path, default=Path("var/bench/streaming"))
    parser.add_argument("--batch-files", type=int, default=200)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
        return
    print("| documents | passages | run s | RSS after encoder load MB | peak RSS MB |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        r = measure(size, args.root, args.batch_files)
        print(f"| {r['documents']:,} | {r['passages']:,} | {r['seconds']} | {r['rss_ready_mb']} | {r['peak_rss_mb']} |", flush=True)


if __name__ == "__main__":
    main()
