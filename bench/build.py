"""Build (or reuse) a synthetic index of a given size through the real pipeline, with derived vectors.

    python -m bench.build 100000            # → var/bench/index-100k (≈ 1 min per 10k passages on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from bench.synthetic import DerivedEncoder, write_reports
from indexer.encoders import Encoder, load_encoder
from indexer.pipeline import index_paths
from indexer.settings import Settings
from indexer.backend.embedded.generations import live_layout
from indexer.backend.embedded.layout import IndexLayout

ROOT = Path("var/bench")


def label(passages: int) -> str:
    return f"{passages // 1_000_000}M" if passages >= 1_000_000 else f"{passages // 1000}k"


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_settings(index_dir: Path, base: Settings | None = None) -> Settings:
    base = base or Settings()
    return base.model_copy(update={"index": base.index.model_copy(update={"dir": index_dir})})


def derived_encoder(settings: Settings) -> DerivedEncoder:
    real: Encoder = load_encoder(settings.encoder)
    return DerivedEncoder(real, cache=ROOT / f"sentence-bank-{real.name}.npy")


def build(passages: int, root: Path = ROOT, settings: Settings | None = None, keep_sources: bool = False) -> dict:
    """Index ``passages`` synthetic passages (3 per report) under ``root/index-<size>``; return its facts."""
    index_dir = root / f"index-{label(passages)}"
    facts_file = index_dir.with_suffix(".json")
    if live_layout(index_dir) is not None and facts_file.exists():
        return json.loads(facts_file.read_text())
    settings = bench_settings(index_dir, settings)
    encoder = derived_encoder(settings)
    sources = root / f"sources-{label(passages)}"
    shutil.rmtree(sources, ignore_errors=True)
    started = time.perf_counter()
    write_reports(passages // 3, sources)
    generate_s = time.perf_counter() - started
    report = index_paths([sources], settings, encoder, rebuild=True)
    if not keep_sources:
        shutil.rmtree(sources, ignore_errors=True)
    layout = live_layout(index_dir)
    assert layout is not None
    facts = {
        "passages": report.passages_added,
        "documents": report.documents_added,
        "generate_s": round(generate_s, 1),
        "seconds": {k: round(v, 1) for k, v in report.seconds.items()},
        "disk_mb": {
            "total": round(dir_size(index_dir) / 1e6, 1),
            "dense": round(layout.dense.stat().st_size / 1e6, 1),
            "lexical": round(dir_size(layout.lexical) / 1e6, 1),
            "metadata": round(layout.metadata.stat().st_size / 1e6, 1),
        },
        "encoder": encoder.name,
        "dense_kind": _dense_kind(layout, encoder.dim),
    }
    facts_file.write_text(json.dumps(facts, indent=1))
    return facts


def _dense_kind(layout: IndexLayout, dim: int) -> str:
    from indexer.backend.embedded.dense import DenseIndex

    return DenseIndex.load(layout.dense, dim).kind


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("passages", type=int)
    print(json.dumps(build(parser.parse_args().passages), indent=1))
