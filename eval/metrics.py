"""Ranking metrics for the labelled query set (``eval/queries.yaml``): pure functions, no I/O.

Conventions, chosen so that numbers are comparable across runs and with the literature:

* ``ranking`` is the engine's result list of document ids, best first. A document id repeated in
  the ranking counts once, at its first position (passage-level engines may return a document twice).
* ``relevant`` maps document id → grade (2 = the finding is affirmed / exactly what was asked,
  1 = partially relevant). Grades ≤ 0 and unknown documents are non-relevant.
* nDCG uses the exponential gain ``2**grade - 1`` and ``log2(rank + 1)`` discount; the ideal ranking
  is the relevant documents sorted by grade. A query with no relevant document scores 0 on every
  metric (it should not be in the set: :func:`evaluate` refuses it).
* recall@k and reciprocal rank are binary: any grade ≥ ``min_grade`` (default 1) is relevant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal


def _unique(ranking: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order (rank 1 first)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(
    ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10, gain: Literal["exponential", "linear"] = "exponential"
) -> float:
    """Graded nDCG@k in [0, 1]. ``gain="linear"`` (grade itself) is trec_eval's and BEIR's convention;
    both agree on binary relevance."""
    if k <= 0:
        raise ValueError("k must be positive")
    grades = [g for g in relevant.values() if g > 0]
    if not grades:
        return 0.0
    to_gain = (lambda g: 2.0**g - 1) if gain == "exponential" else float  # noqa: E731
    gains = [to_gain(max(relevant.get(doc, 0), 0)) for doc in _unique(ranking)[:k]]
    ideal = [to_gain(g) for g in sorted(grades, reverse=True)[:k]]
    return dcg(gains) / dcg(ideal)


def recall_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10, min_grade: int = 1) -> float:
    """Share of the relevant documents found in the first ``k`` results."""
    if k <= 0:
        raise ValueError("k must be positive")
    wanted = {doc for doc, grade in relevant.items() if grade >= min_grade}
    if not wanted:
        return 0.0
    return len(wanted.intersection(_unique(ranking)[:k])) / len(wanted)


def precision_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10, min_grade: int = 1) -> float:
    """Share of the first ``k`` positions holding a relevant document (missing positions count as misses)."""
    if k <= 0:
        raise ValueError("k must be positive")
    top = _unique(ranking)[:k]
    return sum(1 for doc in top if relevant.get(doc, 0) >= min_grade) / k


def reciprocal_rank(ranking: Sequence[str], relevant: Mapping[str, int], min_grade: int = 1) -> float:
    """1 / rank of the first relevant document, 0 if none is returned."""
    for rank, doc in enumerate(_unique(ranking), start=1):
        if relevant.get(doc, 0) >= min_grade:
            return 1.0 / rank
    return 0.0


def mean_reciprocal_rank(runs: Iterable[tuple[Sequence[str], Mapping[str, int]]], min_grade: int = 1) -> float:
    """MRR over (ranking, relevant) pairs; 0 for an empty run."""
    values = [reciprocal_rank(ranking, relevant, min_grade) for ranking, relevant in runs]
    return sum(values) / len(values) if values else 0.0


@dataclass
class Evaluation:
    """Mean metrics over a query set, plus the per-query values (for error analysis)."""

    k: int
    means: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)


def evaluate(
    rankings: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    k: int = 10,
    groups: Mapping[str, str] | None = None,
) -> Evaluation:
    """nDCG@k, recall@k, precision@k and MRR for every query of ``qrels``.

    A query absent from ``rankings`` counts as an empty result (the engine failed it), so a crash on
    some queries cannot improve the means. ``groups`` (query id → e.g. category) adds per-group means.
    """
    per_query: dict[str, dict[str, float]] = {}
    for query_id, relevant in qrels.items():
        if not any(grade > 0 for grade in relevant.values()):
            raise ValueError(f"query {query_id!r} has no relevant document")
        ranking = rankings.get(query_id, [])
        per_query[query_id] = {
            f"ndcg@{k}": ndcg_at_k(ranking, relevant, k),
            f"recall@{k}": recall_at_k(ranking, relevant, k),
            f"precision@{k}": precision_at_k(ranking, relevant, k),
            "mrr": reciprocal_rank(ranking, relevant),
        }
    by_group: dict[str, dict[str, float]] = {}
    if groups:
        for group in sorted(set(groups.values())):
            members = [per_query[q] for q in per_query if groups.get(q) == group]
            if members:
                by_group[group] = _mean(members)
    return Evaluation(k=k, means=_mean(list(per_query.values())), per_query=per_query, by_group=by_group)


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]}
