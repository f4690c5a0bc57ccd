"""Build (or reuse) a synthetic index of a given size through the real pipeline, with derived vectors.

    python -m bench.build 100000            # → var/bench/index-100k (≈ 1 min per 10k passages on 2 cores)
    MEDSEARCH_BACKEND__KIND=elasticsearch MEDSEARCH_BACKEND__URL=http://127.0.0.1:9200 python -m bench.build 1000
                                            # → indices <prefix>-bench-index-1k-es-* on that cluster

Everything goes through the storage interface (:func:`indexer.backend.factory.open_backend`, the
pipeline's :class:`~indexer.backend.base.IndexWriter`), so the same build runs on either backend; only
the size facts (bytes on disk, dense index kind) are read per engine. On Elasticsearch a bench index
gets its own prefix (``<backend.index_prefix>-bench-<index name>``): a benchmark never writes into
production's indices.
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
from indexer.backend.factory import open_backend

ROOT = Path("var/bench")


def label(passages: int) -> str:
    return f"{passages // 1_000_000}M" if passages >= 1_000_000 else f"{passages // 1000}k"


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def bench_settings(index_dir: Path, base: Settings | None = None) -> Settings:
    """Settings of the bench index named by *index_dir* on the configured backend (its own ES prefix)."""
    base = base or Settings()
    update: dict = {"index": base.index.model_copy(update={"dir": index_dir})}
    if base.backend.kind == "elasticsearch":
        prefix = f"{base.backend.index_prefix}-bench-{index_dir.name}".lower()
        update["backend"] = base.backend.model_copy(update={"index_prefix": prefix})
    return base.model_copy(update=update)


def bench_env(settings: Settings) -> dict[str, str]:
    """Environment of an API subprocess serving the same index as *settings* (bench/latency.py)."""
    env = {"MEDSEARCH_INDEX__DIR": str(settings.index.dir), "MEDSEARCH_BACKEND__KIND": settings.backend.kind,
           "MEDSEARCH_ENCODER__NAME": settings.encoder.name}
    if settings.backend.kind == "elasticsearch":
        env["MEDSEARCH_BACKEND__URL"] = settings.backend.url or ""
        env["MEDSEARCH_BACKEND__INDEX_PREFIX"] = settings.backend.index_prefix
    return env


def index_dir_for(passages: int, root: Path = ROOT, settings: Settings | None = None) -> Path:
    """Where the bench index of *passages* lives (``-es``: the Elasticsearch one, so facts never mix)."""
    kind = (settings or Settings()).backend.kind
    return root / f"index-{label(passages)}{'-es' if kind == 'elasticsearch' else ''}"


def derived_encoder(settings: Settings) -> DerivedEncoder:
    real: Encoder = load_encoder(settings.encoder)
    return DerivedEncoder(real, cache=ROOT / f"sentence-bank-{real.name}.npy")


def build(passages: int, root: Path = ROOT, settings: Settings | None = None, keep_sources: bool = False,
          encoder: Encoder | None = None) -> dict:
    """Index ``passages`` synthetic passages (3 per report) as ``root/index-<size>`` on the configured
    backend, through the storage interface; return its facts (reused while the index and facts exist).
    *encoder*: the passage encoder (default: derived vectors of the configured one)."""
    index_dir = index_dir_for(passages, root, settings)
    facts_file = index_dir.with_suffix(".json")
    settings = bench_settings(index_dir, settings)
    backend = open_backend(settings)
    try:
        if backend.exists() and facts_file.exists():
            return json.loads(facts_file.read_text())
    finally:
        backend.close()
    encoder = encoder or derived_encoder(settings)
    sources = root / f"sources-{label(passages)}"
    shutil.rmtree(sources, ignore_errors=True)
    started = time.perf_counter()
    write_reports(passages // 3, sources)
    generate_s = time.perf_counter() - started
    report = index_paths([sources], settings, encoder, rebuild=True)
    if not keep_sources:
        shutil.rmtree(sources, ignore_errors=True)
    facts = {
        "backend": settings.backend.kind,
        "passages": report.passages_added,
        "documents": report.documents_added,
        "generate_s": round(generate_s, 1),
        "seconds": {k: round(v, 1) for k, v in report.seconds.items()},
        **size_facts(settings, encoder.dim),
        "encoder": encoder.name,
    }
    facts_file.parent.mkdir(parents=True, exist_ok=True)
    facts_file.write_text(json.dumps(facts, indent=1))
    return facts


def size_facts(settings: Settings, dim: int) -> dict:
    """Bytes on disk per store and the dense index kind: the one thing read per engine."""
    if settings.backend.kind == "elasticsearch":
        return _es_size_facts(settings)
    from indexer.backend.embedded.dense import DenseIndex
    from indexer.backend.embedded.generations import live_layout

    index_dir = settings.index.dir
    layout = live_layout(index_dir)
    assert layout is not None
    return {
        "disk_mb": {
            "total": round(dir_size(index_dir) / 1e6, 1),
            "dense": round(layout.dense.stat().st_size / 1e6, 1),
            "lexical": round(dir_size(layout.lexical) / 1e6, 1),
            "metadata": round(layout.metadata.stat().st_size / 1e6, 1),
        },
        "dense_kind": DenseIndex.load(layout.dense, dim).kind,
    }


def _es_size_facts(settings: Settings) -> dict:
    """Store sizes of the live generation's indices (``_stats``; None where the server has none)."""
    from indexer.backend.elasticsearch.client import make_client
    from indexer.backend.elasticsearch.generations import Generations

    client = make_client(settings.backend)
    try:
        indices = Generations(client, settings.backend.index_prefix).live_indices()
        sizes: dict[str, float | None] = {}
        for family, index in indices.items():
            try:
                stats = client.indices.stats(index=index, metric="store").body
                sizes[family] = round(stats["indices"][index]["total"]["store"]["size_in_bytes"] / 1e6, 1)
            except Exception:  # noqa: BLE001 - a test server without _stats: sizes unknown, not an error
                sizes[family] = None
        known = [v for v in sizes.values() if v is not None]
        sizes["total"] = round(sum(known), 1) if known and len(known) == len(indices) else None
        try:
            body = client.indices.get_mapping(index=indices["passages"]).body
            vector = next(iter(body.values()))["mappings"]["properties"]["vector"]
            kind = f"{vector.get('index_options', {}).get('type', 'dense_vector')} (Elasticsearch)"
        except Exception:  # noqa: BLE001
            kind = "dense_vector (Elasticsearch)"
        return {"disk_mb": sizes, "dense_kind": kind}
    finally:
        client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("passages", type=int)
    print(json.dumps(build(parser.parse_args().passages), indent=1))
