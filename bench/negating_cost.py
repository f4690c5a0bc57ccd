"""What ``search.demote_negating_dense`` costs a hybrid search, in process, on a synthetic index.

Three settings interleaved per query: off; on with the concept memo cleared before each search (what a
finding never asked since the last generation costs); on with the memo warm (the same finding asked
again, as physicians do). CPU ms per search (thread time), median per query, then the median of those.

    python -m bench.negating_cost var/bench/lexical-100000     # index from bench.lexical_overhead --build 100000
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.lexical_overhead import HashEncoder
from indexer.settings import Settings
from search_api.engine_factory import build_engine
from search_api.models import SearchRequest

QUERIES = ("pneumothorax", "épanchement pleural", "pleural effusion", "pneumonie", "cardiomégalie", "fracture",
           "nodule pulmonaire", "embolie pulmonaire", "insuffisance cardiaque", "AVC ischémique")
SETTINGS = ("off", "on, first sight", "on, memo warm")


def run(index_dir: Path, rounds: int = 9) -> dict[str, dict[str, float]]:
    engine = build_engine(Settings(index={"dir": index_dir}), HashEncoder())
    out: dict[str, dict[str, float]] = {}
    for query in QUERIES:
        times: dict[str, list[float]] = {name: [] for name in SETTINGS}
        for _ in range(rounds):
            for name in SETTINGS:
                engine.settings.demote_negating_dense = name != "off"
                if name == "on, first sight":
                    engine.concept_documents.clear()
                started = time.thread_time()
                engine.search(SearchRequest(q=query, mode="hybrid", limit=10))
                times[name].append((time.thread_time() - started) * 1000)
        out[query] = {name: statistics.median(values) for name, values in times.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    result = run(args.index, args.rounds)
    print("| query | " + " | ".join(SETTINGS) + " |\n|---|" + "---|" * len(SETTINGS))
    for query, row in result.items():
        print(f"| {query} | " + " | ".join(f"{row[name]:.2f}" for name in SETTINGS) + " |")
    medians = {name: statistics.median(row[name] for row in result.values()) for name in SETTINGS}
    print("| **median** | " + " | ".join(f"**{medians[name]:.2f}**" for name in SETTINGS) + " |")


if __name__ == "__main__":
    main()
