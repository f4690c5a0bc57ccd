"""Ranking metrics for the labelled query sets, computed by ``ranx`` (a well-kept library: trec_eval's
definitions, numba-compiled), behind the thin functions the runners and tests call.

Conventions, chosen so that numbers are comparable across runs and with the literature:

* ``ranking`` is the engine's result list of document ids, best first. A document id repeated in
  the ranking counts once, at its first position (passage-level engines may return a document twice).
* ``relevant`` maps document id → grade (2 = the finding is affirmed / exactly what was asked,
  1 = partially relevant). Grades ≤ 0 and unknown documents are non-relevant.
* nDCG: exponential gain ``2**grade - 1`` by default (ranx ``ndcg_burges``), linear gain (ranx
  ``ndcg``: trec_eval's and BEIR's convention) on request; both agree on binary relevance. A query
  with no relevant document is refused by :func:`evaluate` (it should not be in the set).
* recall@k, precision@k (missing positions count as misses) and reciprocal rank are binary: any grade
  ≥ ``min_grade`` (default 1) is relevant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

_EMPTY = "\x00no-result"  # ranx needs one entry per query: a run that returned nothing gets a non-relevant one


def _unique(ranking: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ranking))


def ranx_run(rankings: Mapping[str, Sequence[str]], query_ids: Iterable[str], name: str = "run"):  # noqa: ANN201
    """A ``ranx.Run`` from ranked id lists (scores = reversed positions), one entry per query."""
    from ranx import Run

    runs = {}
    for qid in query_ids:
        docs = _unique(rankings.get(qid, []))
        runs[qid] = {doc: float(len(docs) - i) for i, doc in enumerate(docs)} or {_EMPTY: 0.0}
    return Run(runs, name=name)


def ranx_qrels(qrels: Mapping[str, Mapping[str, int]], min_grade: int = 1, binary: bool = False):  # noqa: ANN201
    from ranx import Qrels

    return Qrels({
        qid: {doc: (1 if binary else int(g)) for doc, g in rel.items() if g >= min_grade} for qid, rel in qrels.items()
    })


def per_query(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], metrics: Sequence[str],
    min_grade: int = 1, binary: bool = False,
) -> dict[str, dict[str, float]]:
    """ranx metric names (``ndcg_burges@10``, ``recall@100``, ``mrr``...) → per-query values."""
    from ranx import evaluate as ranx_evaluate

    ids = list(qrels)
    if not ids:
        return {}
    scores = ranx_evaluate(ranx_qrels(qrels, min_grade, binary), ranx_run(rankings, ids), list(metrics), return_mean=False)
    if len(metrics) == 1:
        scores = {metrics[0]: scores}
    # ranx orders queries by its own sorted keys
    order = sorted(ids)
    return {qid: {m: float(np.asarray(scores[m])[order.index(qid)]) for m in metrics} for qid in ids}


def _single(ranking: Sequence[str], relevant: Mapping[str, int], metric: str, min_grade: int = 1) -> float:
    if not any(g >= min_grade for g in relevant.values()):
        return 0.0
    return per_query({"q": list(ranking)}, {"q": dict(relevant)}, [metric], min_grade)["q"][metric]


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order (rank 1 first)."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(
    ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10, gain: Literal["exponential", "linear"] = "exponential"
) -> float:
    """Graded nDCG@k in [0, 1]."""
    if k <= 0:
        raise ValueError("k must be positive")
    name = "ndcg_burges" if gain == "exponential" else "ndcg"
    return _single(ranking, relevant, f"{name}@{k}")


def recall_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10, min_grade: int = 1) -> float:
    """Share of the relevant documents found in the first ``k`` results."""
    if k <= 0:
        raise ValueError("k must be positive")
    return _single(ranking, relevant, f"recall@{k}", min_grade)


def precision_at_k(ranking: Sequence[str], relevant: Mapping[str, int], k: int = 10, min_grade: int = 1) -> float:
    """Share of the first ``k`` positions holding a relevant document (missing positions count as misses)."""
    if k <= 0:
        raise ValueError("k must be positive")
    return _single(ranking, relevant, f"precision@{k}", min_grade)


def reciprocal_rank(ranking: Sequence[str], relevant: Mapping[str, int], min_grade: int = 1) -> float:
    """1 / rank of the first relevant document, 0 if none is returned."""
    return _single(ranking, relevant, "mrr", min_grade)


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
    for query_id, relevant in qrels.items():
        if not any(grade > 0 for grade in relevant.values()):
            raise ValueError(f"query {query_id!r} has no relevant document")
    names = {f"ndcg_burges@{k}": f"ndcg@{k}", f"recall@{k}": f"recall@{k}", f"precision@{k}": f"precision@{k}", "mrr": "mrr"}
    raw = per_query(rankings, qrels, list(names))
    per_q = {qid: {names[m]: v for m, v in row.items()} for qid, row in raw.items()}
    by_group: dict[str, dict[str, float]] = {}
    if groups:
        for group in sorted(set(groups.values())):
            members = [per_q[q] for q in per_q if groups.get(q) == group]
            if members:
                by_group[group] = _mean(members)
    return Evaluation(k=k, means=_mean(list(per_q.values())), per_query=per_q, by_group=by_group)


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]}
