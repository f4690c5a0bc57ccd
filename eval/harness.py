"""What the Open-i and BEIR runners share: index a folder with one encoder, rank through the engine,
and format results.

Everything goes through the product: :func:`indexer.pipeline.index_paths` builds the index and
:class:`search_api.retrieval.SearchEngine` answers the queries, so the numbers are the product's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from indexer.sources.identity import id_key
from eval.index_key import fingerprint, index_key
from eval.vector_cache import CachedEncoder
from indexer.encoders import Encoder, load_encoder
from indexer.pipeline import index_paths
from indexer.settings import EncoderSettings, Settings
from indexer.backend.factory import open_backend
from search_api.models import MAX_LIMIT, SearchRequest
from search_api.engine_factory import build_engine
from search_api.retrieval import SearchEngine

DEPTH = MAX_LIMIT  # documents taken from each leg (the API's largest page)

Rankings = dict[str, list[str]]  # query id → document ids, best first


def encoder_factory(name: str) -> Callable[[], Encoder]:
    """Encoders by name: the configured ones, plus the optional English-only MiniLM (ONNX, no torch)."""
    if name == "minilm-int8":
        from indexer.encoders.onnx_minilm import MiniLMOnnx

        return MiniLMOnnx
    return lambda: load_encoder(EncoderSettings(name=name))


def index_folder(corpus: Path, index_dir: Path, encoder: Encoder) -> tuple[Settings, dict[str, float]]:
    """Index *corpus* into ``<index_dir>-<key>`` (reused on later runs only while the key matches: see
    :mod:`eval.index_key`); return settings and the run's timings."""
    base = Settings(api={"audit_log": index_dir.parent / "audit.log"})
    shaping = base.model_dump(mode="json", include={"passages", "dense", "clinical", "index"}, exclude={"index": {"dir"}})
    index_dir = index_dir.with_name(f"{index_dir.name}-{index_key(shaping, fingerprint(encoder), corpus)}")
    key = index_dir.name.rsplit("-", 1)[-1]
    settings = base.model_copy(update={
        "index": base.index.model_copy(update={"dir": index_dir}),
        # on Elasticsearch the evaluation index lives beside production's, never in it
        "backend": base.backend.model_copy(update={"index_prefix": f"{base.backend.index_prefix}-eval-{key}".lower()}),
    })
    timings_file = index_dir.with_name(index_dir.name + ".timings.json")
    if not open_backend(settings).exists():
        # same text, same encoder: same vector, reused; MEDSEARCH_EVAL_VECTOR_CACHE: a folder shared by
        # every evaluation (as eval.run_clinical), else the index's parent folder
        cache_folder = Path(os.environ.get("MEDSEARCH_EVAL_VECTOR_CACHE") or index_dir.parent)
        cached = CachedEncoder(encoder, cache_folder)
        report = index_paths([corpus], settings, cached, rebuild=True)
        cached.save()
        timings_file.write_text(json.dumps({**report.seconds, "passages": report.passages_added}))
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    return settings, timings


def open_engine(settings: Settings, encoder: Encoder) -> SearchEngine:
    return build_engine(settings, encoder)


def rank(engine: SearchEngine, text: str, mode: str, limit: int = DEPTH) -> list[str]:
    """Dataset ids for *text* in *mode* (lexical, dense or hybrid), through the engine.

    Evaluation corpora are written one file per document, named by the dataset's id; the index
    names such a file ``report:<relative path>`` (``indexer/sources/identity.py``), so the dataset id
    is the file stem of the id's key.
    """
    response = engine.search(SearchRequest(q=text, mode=mode, limit=limit))
    return [Path(id_key(result.id)).stem for result in response.results]


def fmt(scores: Mapping[str, float]) -> str:
    return f"{scores['ndcg@10']:.3f} | {scores['recall@100']:.3f} | {scores['mrr']:.3f}"


def wins_losses(per_query_a: Mapping, per_query_b: Mapping, metric: str = "ndcg@10", eps: float = 1e-9) -> tuple[int, int, int]:
    """(queries where a beats b, ties, losses) on *metric*."""
    diffs = [per_query_a[q][metric] - per_query_b[q][metric] for q in per_query_a]
    return sum(d > eps for d in diffs), sum(abs(d) <= eps for d in diffs), sum(d < -eps for d in diffs)
