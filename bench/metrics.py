"""Ranking metrics for the benchmarks: :mod:`eval.metrics` with BEIR's conventions (linear gain, sets accepted).

Relevance is a mapping doc id → grade (``> 0`` = relevant); a plain set of ids means grade 1 each.
nDCG uses the linear gain (grade / log2(rank + 1)), as ``trec_eval`` and BEIR do, so our BEIR numbers
are comparable with published ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from eval import metrics

Relevance = Mapping[str, int] | set[str] | frozenset[str]


def _grades(relevant: Relevance) -> dict[str, int]:
    if isinstance(relevant, Mapping):
        return {doc: int(grade) for doc, grade in relevant.items() if grade > 0}
    return {doc: 1 for doc in relevant}


def ndcg_at_k(ranking: Sequence[str], relevant: Relevance, k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first *k* results (0 when nothing is relevant)."""
    return metrics.ndcg_at_k(ranking, _grades(relevant), k, gain="linear")


def recall_at_k(ranking: Sequence[str], relevant: Relevance, k: int = 100) -> float:
    """Share of the relevant documents found in the first *k* results."""
    return metrics.recall_at_k(ranking, _grades(relevant), k)


def reciprocal_rank(ranking: Sequence[str], relevant: Relevance, k: int | None = None) -> float:
    """1 / rank of the first relevant result within the first *k* (all when None); 0 if none."""
    return metrics.reciprocal_rank(list(ranking[:k] if k else ranking), _grades(relevant))


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Relevance]) -> dict[str, dict[str, float]]:
    """Per-query nDCG@10, recall@100 and MRR for every query in *qrels* (a missing run counts as empty),
    computed by ranx in one call."""
    grades = {qid: _grades(relevant) for qid, relevant in qrels.items()}
    scores = metrics.per_query(runs, grades, ["ndcg@10", "recall@100", "mrr"])
    return {qid: scores[qid] for qid in qrels}


def summarise(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric over queries."""
    names = next(iter(per_query.values())).keys() if per_query else []
    return {name: mean(scores[name] for scores in per_query.values()) for name in names}
