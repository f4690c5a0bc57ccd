"""What the spelling suggestion (``SearchResponse.suggestion``, search_api/spelling.py) costs a search, in process.

Each query runs with suggestions off and on, interleaved (off, on, off, on …), wall-clock ms per search,
median per query. Misspelled queries pay the suggestion (the word's passage counts, the candidates, the
scoped checks); queries spelled right should pay nothing but two memoised count look-ups. Also printed:
the one-off read of the index's vocabulary (the first misspelled query of a generation).

    python -m bench.spelling_cost var/bench/lexical-30000     # index from bench.lexical_overhead --build 30000
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

MISSPELLED = ("fracure du col", "hillaire", "lombalgie chronik", "fievre persistente", "mediastinnal", "costall",
              "suivi oncologiqe", "nodule hépatiqe")
RIGHT = ("fracture du col", "hilaire", "lombalgie chronique", "fièvre persistante", "médiastinal", "suivi oncologique",
         "épanchement pleural", "pneumothorax")


def run(index_dir: Path, rounds: int = 9) -> tuple[float, dict[str, dict[str, float | str | None]]]:
    engine = build_engine(Settings(index={"dir": index_dir}), HashEncoder())
    engine.warm_up()
    started = time.perf_counter()
    engine.speller.vocabulary(from_index=True)
    first_read = (time.perf_counter() - started) * 1000
    out: dict[str, dict[str, float | str | None]] = {}
    for query in (*MISSPELLED, *RIGHT):
        times: dict[str, list[float]] = {"off": [], "on": []}
        suggestion = None
        for _ in range(rounds):
            for name in ("off", "on"):
                started = time.perf_counter()
                response = engine.search(SearchRequest(q=query, mode="hybrid", limit=10), spelling="index" if name == "on" else None)
                times[name].append((time.perf_counter() - started) * 1000)
                suggestion = response.suggestion if name == "on" else suggestion
        out[query] = {"off": statistics.median(times["off"]), "on": statistics.median(times["on"]), "suggestion": suggestion}
    return first_read, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    first_read, result = run(args.index, args.rounds)
    print(f"index vocabulary, first read: {first_read:.0f} ms")
    print("| query | off (ms) | on (ms) | extra | suggestion |\n|---|---|---|---|---|")
    for query, row in result.items():
        print(f"| {query} | {row['off']:.1f} | {row['on']:.1f} | {row['on'] - row['off']:+.1f} | {row['suggestion'] or '—'} |")
    for label, queries in (("misspelled", MISSPELLED), ("spelled right", RIGHT)):
        extra = statistics.median(result[q]["on"] - result[q]["off"] for q in queries)
        print(f"| **median extra, {label}** | | | **{extra:+.1f}** | |")


if __name__ == "__main__":
    main()
