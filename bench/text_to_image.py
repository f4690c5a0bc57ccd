"""Text → image retrieval on the demo corpus: do finding queries find the images whose report has it?

Run from the repository root (after ``python -m indexer.demo.generate data/demo``)::

    python -m bench.text_to_image [--demo data/demo] [--index /tmp/medsearch-bench-t2i] [--reuse]

Indexes the demo reports, DICOM images and articles (with their figures) using the default encoder,
then searches with ``kinds=image`` in each mode (hybrid, lexical, dense, and hybrid with the clinical
language layer off). Ground truth comes from
``ground_truth.json``: an image is relevant to a finding when the finding is *affirmed* in its linked
report. Two query sets:

* ``finding``: the finding alone (« épanchement pleural »), relevant = every image with it affirmed;
* ``exam+finding``: « scanner thoracique épanchement pleural », relevant = images of that exam with it.

Metrics: nDCG@10, recall@10, MRR, and ``neg@10``: the share of the top 10 whose report *negates* the
finding (« pas d'épanchement pleural ») — what a text path without negation handling gets wrong.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.metrics import mean, ndcg_at_k, recall_at_k, reciprocal_rank  # noqa: E402
from eval.run_clinical import source_aliases
from indexer.encoders import load_encoder  # noqa: E402
from indexer.pipeline import index_paths  # noqa: E402
from indexer.schema import DocumentKind  # noqa: E402
from indexer.settings import Settings  # noqa: E402
from indexer.backend.factory import open_backend  # noqa: E402
from search_api.models import SearchRequest  # noqa: E402
from search_api.engine_factory import build_engine  # noqa: E402
from search_api.retrieval import SearchEngine  # noqa: E402

EXAM_FR = {
    "ct_chest": "scanner thoracique",
    "ctpa": "angioscanner thoracique",
    "cxr": "radiographie thoracique",
    "ct_head": "scanner cérébral",
    "mr_brain": "IRM cérébrale",
    "mr_spine": "IRM du rachis",
    "ct_abdo": "scanner abdominal",
    "us_abdo": "échographie abdominale",
    "echo_heart": "échographie cardiaque",
    "xr_knee": "radiographie du genou",
    "xr_hip": "radiographie de la hanche",
    "xr_shoulder": "radiographie de l'épaule",
}
#: (label, mode, clinical): "clinical off" is plain keyword + vector search (no negation handling, no expansion).
MODES = (
    ("hybrid", "hybrid", True),
    ("lexical", "lexical", True),
    ("dense", "dense", True),
    ("hybrid, clinical off", "hybrid", False),
)


def build_queries(truth: dict[str, dict]) -> dict[str, list[tuple[str, set[str], set[str]]]]:
    """Query sets: name → [(query text, relevant image ids, image ids whose report negates the finding)]."""
    images = {doc_id: entry for doc_id, entry in truth.items() if entry["kind"] == "image"}
    affirmed: dict[str, set[str]] = defaultdict(set)
    negated: dict[str, set[str]] = defaultdict(set)
    by_exam: dict[tuple[str, str], set[str]] = defaultdict(set)
    for doc_id, entry in images.items():
        for finding in entry["findings"]["affirmed"]:
            affirmed[finding].add(doc_id)
            by_exam[(entry["exam"], finding)].add(doc_id)
        for finding in entry["findings"]["negated"]:
            negated[finding].add(doc_id)
    finding_queries = [(f, ids, negated[f]) for f, ids in sorted(affirmed.items()) if len(ids) >= 2]
    exam_queries = [
        (f"{EXAM_FR[exam]} {finding}", ids, {i for i in negated[finding] if images[i]["exam"] == exam})
        for (exam, finding), ids in sorted(by_exam.items())
        if exam in EXAM_FR
    ]
    return {"finding": finding_queries, "exam+finding": exam_queries}


def index_demo(demo: Path, index_dir: Path, reuse: bool) -> Settings:
    settings = Settings(index={"dir": index_dir}, api={"audit_log": index_dir.parent / "bench-audit.log"})
    if reuse and open_backend(settings).exists():
        return settings
    if index_dir.exists():
        shutil.rmtree(index_dir)
    started = time.perf_counter()
    report = index_paths([demo / "reports", demo / "images", demo / "articles", demo / "figures"], settings,
                         load_encoder(settings.encoder))
    print(f"indexed {report.documents_added} documents, {report.images_described} image vectors "
          f"in {time.perf_counter() - started:.0f}s; skipped {len(report.skipped)}")
    return settings


def evaluate(
    engine: SearchEngine, queries: list[tuple[str, set[str], set[str]]], mode: str, clinical: bool = True
) -> dict[str, float]:
    rows = []
    latencies = []
    for text, relevant, negated in queries:
        started = time.perf_counter()
        request = SearchRequest.model_validate(
            {"q": text, "kinds": [DocumentKind.IMAGE], "mode": mode, "clinical": clinical, "limit": 100}
        )
        response = engine.search(request)
        latencies.append(time.perf_counter() - started)
        ranking = [r.id for r in response.results]
        rows.append({
            "nDCG@10": ndcg_at_k(ranking, relevant, 10),
            "R@10": recall_at_k(ranking, relevant, 10),
            "MRR": reciprocal_rank(ranking, relevant),
            "neg@10": len(set(ranking[:10]) & negated) / max(1, len(ranking[:10])),
        })
    summary = {name: mean(row[name] for row in rows) for name in rows[0]}
    summary["ms/query"] = 1000 * mean(latencies)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("data/demo"))
    parser.add_argument("--index", type=Path, default=Path("/tmp/medsearch-bench-t2i/index"))
    parser.add_argument("--reuse", action="store_true", help="reuse an existing index at --index")
    args = parser.parse_args(argv)
    truth = json.loads((args.demo / "ground_truth.json").read_text(encoding="utf-8"))
    settings = index_demo(args.demo, args.index, args.reuse)
    engine = build_engine(settings, clip=False)  # text legs only, as measured in BENCHMARKS.md
    engine.warm_up()
    aliases = source_aliases(engine)  # ground truth names files; the index names series (image:<SeriesInstanceUID>)
    truth = {aliases.get(name, name): entry for name, entry in truth.items()}
    print("| query set | mode | queries | nDCG@10 | R@10 | MRR | neg@10 | ms/query |")
    print("|---|---|---|---|---|---|---|---|")
    for name, queries in build_queries(truth).items():
        for label, mode, clinical in MODES:
            s = evaluate(engine, queries, mode, clinical)
            print(f"| {name} | {label} | {len(queries)} | {s['nDCG@10']:.3f} | {s['R@10']:.3f} | {s['MRR']:.3f} "
                  f"| {s['neg@10']:.3f} | {s['ms/query']:.0f} |")


if __name__ == "__main__":
    main()
