"""Before vs after, per system, on all queries and the family / negation categories (paired randomisation
test of :mod:`eval.significance`): ``python -m eval.paired_runs before.pkl after.pkl`` (see eval.capture_runs)."""

from __future__ import annotations

import pickle
import sys

from eval.significance import compare


#: "previous": every query but the ``relatives`` ones (the 211 labelled before them)
SUBSETS = ("all", "previous", "family", "negation", "relatives")


def _in(subset: str, category: str) -> bool:
    return subset == "all" or (subset == "previous" and category != "relatives") or category == subset


def main(before_path: str, after_path: str, subsets: tuple[str, ...] = SUBSETS) -> None:
    with open(before_path, "rb") as handle:
        before = pickle.load(handle)  # noqa: S301 (our own file)
    with open(after_path, "rb") as handle:
        after = pickle.load(handle)  # noqa: S301
    qrels, cats = before["qrels"], before["cats"]
    print("| system | subset | n | nDCG@10 before → after | Δ (p, W/T/L) | recall@10 Δ (p, W/T/L) | rankings changed |")
    print("|---|---|---|---|---|---|---|")
    for name in before["runs"]:
        for subset in subsets:
            ids = [q for q in qrels if _in(subset, cats[q])]
            if not ids:
                continue
            a = {q: before["runs"][name][q] for q in ids}
            b = {q: after["runs"][name][q] for q in ids}
            c = compare(b, a, {q: qrels[q] for q in ids}, ("ndcg_burges@10", "recall@10"), binary=False)
            ndcg, recall = c["ndcg_burges@10"], c["recall@10"]
            changed = sum(a[q] != b[q] for q in ids)
            print(f"| {name} | {subset} | {len(ids)} | {ndcg.baseline:.3f} → {ndcg.system:.3f} | {ndcg.cell()} | "
                  f"{recall.cell()} | {changed} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
