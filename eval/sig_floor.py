"""Which printed p-values can the sign-flip test not give? (after the ties fix, b035734)

With w wins and l losses (every other query tied), the paired sign-flip test of the mean difference can flip
only the n = w + l changed queries: the observed split and its mirror image always reach |observed|, so no
two-sided p is below 2 / 2^n = 2^(1 - n) (2 changed queries: 0.5). A printed p below that floor came from the
old test (ranx's, which lost ties to float rounding) and is wrong; a p < 0.05 on n <= 10 is suspect.

Usage::

    python -m eval.sig_floor BENCHMARKS.md README.md
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# "p=0.031, 6/7/0", "p < 0.001, 134/50/7", "p = 1.0, 0/191/0"; the counts within the same parenthesis
CLAIM = re.compile(r"p ?(=|<) ?(\d*\.?\d+)\*?[,;]? ?(?:[a-z@0-9]+ )?(\d+) ?/ ?(\d+) ?/ ?(\d+)")


def floor(wins: int, losses: int) -> float:
    return min(1.0, 2.0 ** (1 - (wins + losses)))


def scan(text: str):
    for number, line in enumerate(text.splitlines(), 1):
        for m in CLAIM.finditer(line):
            op, p, w, t, l = m.group(1), float(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
            decimals = len(m.group(2).split(".")[1]) if "." in m.group(2) else 0
            upper = p if op == "<" else p + 0.5 * 10 ** -decimals  # the largest value the printed p can stand for
            f = floor(w, l)
            # the test is Monte Carlo (10,000 flips): allow three standard errors below the floor
            below = upper < f - 3 * (f * (1 - f) / 10_000) ** 0.5 - 1e-12
            suspect = below or (p < 0.05 and w + l <= 10)
            yield number, m.group(0), p, op, w, t, l, f, below, suspect


def main(paths: list[str]) -> None:
    print("| file:line | printed | changed (w+l) | sign-flip floor | verdict |")
    print("|---|---|---|---|---|")
    for path in paths:
        for number, claim, p, op, w, t, l, f, below, suspect in scan(Path(path).read_text(encoding="utf-8")):
            if suspect:
                verdict = "below the floor: wrong" if below else "p < 0.05 on <= 10 changed queries: re-check"
                print(f"| {path}:{number} | `{claim}` | {w + l} | {f:.4g} | {verdict} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["BENCHMARKS.md", "README.md"])
