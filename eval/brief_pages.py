"""The first page a physician gets for the product brief's example queries, on the demo corpus.

Why: nDCG says how good a ranking is on average; a reviewer of « pneumothorax after central line » wants
to see the ten results, and for each what the ground truth says (the concept affirmed or negated, which
exam). Prints, per query and mode, rank, demo name, kind/exam, the query concept's status in the
document and the ``below`` / grade labels of ``eval/queries.yaml``.

Usage (from the repository root, after ``medsearch demo-corpus data/demo``; builds or reuses the very
index of :mod:`eval.run_clinical`)::

    python -m eval.brief_pages [--corpus data/demo] [--index var/eval/demo-index] [--modes hybrid lexical]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.query_set import load_queries
from eval.run_clinical import open_eval_engine, series_aliases
from indexer.settings import get_settings
from search_api.models import SearchRequest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("data/demo"))
    parser.add_argument("--index", type=Path, default=Path("var/eval/demo-index"))
    parser.add_argument("--queries", type=Path, default=Path("eval/queries.yaml"))
    parser.add_argument("--modes", nargs="+", default=["hybrid", "lexical"])
    parser.add_argument("--extra", nargs="*", default=[], help="more query texts (no labels)")
    args = parser.parse_args(argv)
    truth = json.loads((args.corpus / "ground_truth.json").read_text(encoding="utf-8"))
    engine, _, _ = open_eval_engine(args.corpus, args.index, get_settings().encoder)
    names: dict[str, list[str]] = {}
    for name, doc_id in series_aliases(engine).items():
        names.setdefault(doc_id, []).append(name)
    labelled = [q for q in load_queries(args.queries) if q.category == "brief"]
    todo = [(q.query, q.concept, q.relevant, set(q.below)) for q in labelled]
    todo += [(text, None, {}, set()) for text in args.extra]
    for text, concept, relevant, below in todo:
        for mode in args.modes:
            response = engine.search(SearchRequest(q=text, mode=mode, limit=10))  # type: ignore[arg-type]
            print(f"\n### « {text} » — {mode} ({response.total} results)\n")
            print("| # | document | kind / exam | status of the concept | label |\n|---|---|---|---|---|")
            for rank, result in enumerate(response.results, 1):
                demo = sorted(names.get(result.id, [result.id]))[0]
                entry = truth.get(demo, {})
                status = next((c["status"] for c in entry.get("concepts", []) if c["concept"] == concept), "—")
                label = f"grade {relevant[demo]}" if demo in relevant else ("BELOW" if demo in below else "")
                kind = f"{entry.get('kind', '?')} {entry.get('exam') or entry.get('subtype') or ''} {entry.get('language', '')}"
                print(f"| {rank} | {demo} | {kind} | {status} | {label} |")


if __name__ == "__main__":
    main()
