"""Both storage backends side by side on the demo corpus: clinical quality and query latency.

Indexes the corpus into the embedded backend and into Elasticsearch with the SAME passage vectors
(the encoder runs once: a caching wrapper hands the second run the first run's vectors), runs the
clinical evaluation (``eval.run_clinical``'s four systems, nDCG@10 / recall@10 / MRR per category)
through the product's search engine on each, times the default search (hybrid + clinical, 10
results) in process, and counts how often both return the same top-10 ids.

    MEDSEARCH_ES_URL=http://127.0.0.1:9210 python -m bench.backends --corpus data/demo
    scripts/es_test_server.sh run python -m bench.backends --corpus data/demo   # against noida-db
    ... --every 6     # a deterministic sixth of the corpus (every 6th file of each folder); each query's
                      # relevant set is cut to the documents indexed, queries left with none are dropped

Writes the markdown tables to stdout and the raw numbers to ``<work>/backends.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from eval.query_set import load_queries
from eval.run_clinical import DEPTH, SYSTEMS, score, source_aliases
from indexer.backend.factory import open_backend
from indexer.backend.filters import DocumentFilter
from indexer.encoders import Encoder, load_encoder
from indexer.pipeline import index_paths
from indexer.settings import EncoderSettings, Settings, get_settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest


class CachingEncoder:
    """An encoder whose passage vectors are computed once per distinct text and kept in *path* (an
    ``.npz`` keyed by the text's SHA-1): both backends index the very same vectors, and neither the
    second index nor a later run pays the encoder again."""

    def __init__(self, encoder: Encoder, path: Path | None = None) -> None:
        self.inner = encoder
        self.name, self.dim = encoder.name, encoder.dim
        self.path = path
        self._cache: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path) as stored:
                self._cache = {key: stored[key] for key in stored.files}

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, **self._cache)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self._cache}
        if missing:
            for key, vector in zip(missing, self.inner.encode_passages(list(missing.values()))):
                self._cache[key] = vector
            self.save()
        return np.stack([self._cache[k] for k in keys]) if texts else np.zeros((0, self.dim), np.float32)


def _settings(kind: str, work: Path, encoder: EncoderSettings, url: str) -> Settings:
    backend = {"kind": kind}
    if kind == "elasticsearch":
        backend |= {"url": url, "index_prefix": "medsearch-bench"}
    return Settings(index={"dir": work / kind}, backend=backend, encoder=encoder.model_dump())


def subset(corpus: Path, every: int, target: Path) -> Path:
    """Every *every*-th file of each folder of *corpus* (sorted names), copied under *target* (copies:
    the indexer skips symbolic links that leave the indexed folder)."""
    if every <= 1:
        return corpus
    if target.exists():
        return target
    for folder in sorted(p for p in corpus.rglob("*") if p.is_dir()) + [corpus]:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "ground_truth.json")
        for path in files[::every]:
            copy = target / path.relative_to(corpus)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
    return target


def restrict(queries, indexed: set[str], aliases: dict[str, str]):  # noqa: ANN001, ANN201
    """Queries with their relevant documents cut to those indexed (queries left with none dropped)."""
    out = []
    for q in queries:
        relevant = {d: g for d, g in q.relevant.items() if aliases.get(d, d) in indexed}
        if relevant:
            out.append(q.model_copy(update={"relevant": relevant}))
    return out


DEFAULT_SYSTEM = "hybrid+medical"


def _summary(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))], "n": len(times)}


def _timed_run(engine, queries, options):  # noqa: ANN001, ANN202
    """Ranked ids per query (eval depth) and each search's duration in ms (after one warm-up search)."""
    engine.search(SearchRequest(q=queries[0].query, limit=DEPTH, **options))
    ranked, times = {}, []
    for q in queries:
        started = time.perf_counter()
        ranked[q.id] = [r.id for r in engine.search(SearchRequest(q=q.query, limit=DEPTH, **options)).results]
        times.append((time.perf_counter() - started) * 1000)
    return ranked, times


def _latency(engine, queries, repeats: int) -> dict[str, float]:  # noqa: ANN001
    """Extra passes of the default search, 10 results (what the portal asks)."""
    engine.search(SearchRequest(q=queries[0].query, limit=10))
    times = []
    for _ in range(repeats):
        for q in queries:
            started = time.perf_counter()
            engine.search(SearchRequest(q=q.query, limit=10))
            times.append((time.perf_counter() - started) * 1000)
    return _summary(times)


def main(
    corpus: Annotated[Path, typer.Option(help="Demo corpus folder")] = Path("data/demo"),
    work: Annotated[Path, typer.Option(help="Where the embedded index goes")] = Path("var/bench/backends"),
    encoder: Annotated[str, typer.Option(help="Encoder name (default: the configured one)")] = "",
    es_url: Annotated[str, typer.Option(help="Elasticsearch URL (default: $MEDSEARCH_ES_URL)")] = "",
    queries_file: Annotated[Path, typer.Option("--queries")] = Path("eval/queries.yaml"),
    repeats: Annotated[int, typer.Option(help="Latency: extra passes of the default search, 10 results (0: time the eval pass)")] = 0,
    systems: Annotated[str, typer.Option(help="Systems evaluated on the embedded backend")] = ",".join(SYSTEMS),
    es_systems: Annotated[str, typer.Option(help="Systems evaluated on Elasticsearch (noida-db is slow: fewer)")] = ",".join(SYSTEMS),
    rebuild: Annotated[bool, typer.Option(help="Re-index even if both indices exist")] = False,
    every: Annotated[int, typer.Option(help="Index every N-th file of each folder only (1 = all)")] = 1,
) -> None:
    url = es_url or os.environ.get("MEDSEARCH_ES_URL", "")
    if not url:
        raise typer.BadParameter("no Elasticsearch: pass --es-url or set MEDSEARCH_ES_URL")
    all_queries = load_queries(queries_file)
    corpus = subset(corpus, every, work / f"corpus-every-{every}")
    queries = all_queries
    encoder_settings = EncoderSettings(name=encoder) if encoder else get_settings().encoder
    model = load_encoder(encoder_settings)
    caching = CachingEncoder(model, work / f"vectors-{model.name}.npz")
    report: dict[str, dict] = {}
    rankings: dict[str, dict[str, list[str]]] = {}
    for kind in ("embedded", "elasticsearch"):
        settings = _settings(kind, work, encoder_settings, url)
        entry: dict = {}
        if rebuild or not open_backend(settings).exists():
            started = time.perf_counter()
            result = index_paths([corpus], settings, caching, rebuild=True)
            entry["index_seconds"] = round(time.perf_counter() - started, 1)
            entry["index_write_seconds"] = round(result.seconds.get("write", 0.0), 1)
            entry["passages"] = result.passages_added
        engine = build_engine(settings, model, clip=False)
        aliases = source_aliases(engine)
        if every > 1:
            indexed = set(engine.backend.document_ids_where(DocumentFilter()))
            queries = restrict(all_queries, indexed, aliases)
        entry["quality"] = {}
        wanted = [s.strip() for s in (systems if kind == "embedded" else es_systems).split(",") if s.strip()]
        for name in wanted:
            ranked, times = _timed_run(engine, queries, SYSTEMS[name])
            entry["quality"][name] = score(ranked, queries, aliases)
            if name == DEFAULT_SYSTEM:
                rankings[kind] = ranked
                entry["latency"] = _summary(times)
        if repeats > 0:
            entry["latency"] = _latency(engine, queries, repeats)
        report[kind] = entry
        typer.echo(f"{kind}: done {json.dumps({k: v for k, v in entry.items() if k != 'quality'})}", err=True)
    same = sum(rankings["embedded"][q.id][:10] == rankings["elasticsearch"][q.id][:10] for q in queries)
    same_set = sum(set(rankings["embedded"][q.id][:10]) == set(rankings["elasticsearch"][q.id][:10]) for q in queries)
    report["agreement"] = {"queries": len(queries), "identical_top10": same, "same_top10_set": same_set}
    report["corpus"] = {"path": str(corpus), "every": every, "queries": len(queries), "of_queries": len(all_queries)}
    work.mkdir(parents=True, exist_ok=True)
    (work / "backends.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    typer.echo(_markdown(report, queries))


def _markdown(report: dict, queries) -> str:  # noqa: ANN001
    categories = sorted({q.category for q in queries}) + ["all"]
    counts = {c: sum(q.category == c for q in queries) for c in categories[:-1]} | {"all": len(queries)}
    lines = ["| category (queries) | system | embedded nDCG@10 / R@10 / MRR | elasticsearch nDCG@10 / R@10 / MRR |",
             "|---|---|---|---|"]
    for category in categories:
        for system in SYSTEMS:
            cells = []
            for kind in ("embedded", "elasticsearch"):
                m = report[kind]["quality"].get(system, {}).get(category)
                cells.append(f"{m['ndcg@10']:.3f} / {m['recall@10']:.3f} / {m['mrr']:.3f}" if m else "not run")
            lines.append(f"| {category} ({counts[category]}) | {system} | {cells[0]} | {cells[1]} |")
    lines += ["", "| backend | default search p50 (ms) | p95 (ms) | searches | index (s) |", "|---|---|---|---|---|"]
    for kind in ("embedded", "elasticsearch"):
        lat = report[kind]["latency"]
        lines.append(f"| {kind} | {lat['p50_ms']:.1f} | {lat['p95_ms']:.1f} | {lat['n']} | {report[kind].get('index_seconds', '-')} |")
    a = report["agreement"]
    lines += ["", f"Identical top-10 (ids and order): {a['identical_top10']}/{a['queries']}; same top-10 set: {a['same_top10_set']}/{a['queries']}."]
    return "\n".join(lines)


if __name__ == "__main__":
    typer.run(main)
