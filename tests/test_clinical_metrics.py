"""Ranking metrics of eval/metrics.py, checked against hand-computed values."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # eval/ is not an installed package

from eval.metrics import (
    dcg,
    evaluate,
    mean_reciprocal_rank,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
)

RELEVANT = {"a": 2, "b": 1, "c": 1}


def test_dcg_uses_log2_discount() -> None:
    assert dcg([3, 1]) == pytest.approx(3 + 1 / math.log2(3))


def test_ndcg_perfect_and_reversed() -> None:
    assert ndcg_at_k(["a", "b", "c"], RELEVANT, 3) == pytest.approx(1.0)
    # gains: 2**1-1=1, 1, 3 against the ideal 3, 1, 1
    expected = (1 + 1 / math.log2(3) + 3 / 2) / (3 + 1 / math.log2(3) + 1 / 2)
    assert ndcg_at_k(["c", "b", "a"], RELEVANT, 3) == pytest.approx(expected)


def test_ndcg_counts_only_the_first_k_and_ignores_unknown_docs() -> None:
    assert ndcg_at_k(["x", "y", "a"], RELEVANT, 2) == 0.0
    value = ndcg_at_k(["x", "a"], {"a": 2}, 2)
    assert value == pytest.approx((3 / math.log2(3)) / 3)


def test_ndcg_duplicates_count_once() -> None:
    assert ndcg_at_k(["a", "a", "b", "c"], RELEVANT, 3) == pytest.approx(1.0)


def test_ndcg_without_relevant_docs_is_zero() -> None:
    assert ndcg_at_k(["a"], {"a": 0}, 5) == 0.0


def test_recall_and_precision() -> None:
    assert recall_at_k(["a", "x", "b"], RELEVANT, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "x", "b"], RELEVANT, 10) == pytest.approx(2 / 3)
    assert recall_at_k(["b", "c"], RELEVANT, 10, min_grade=2) == 0.0
    assert precision_at_k(["a", "x", "b"], RELEVANT, 3) == pytest.approx(2 / 3)
    assert precision_at_k(["a"], RELEVANT, 5) == pytest.approx(1 / 5)


def test_reciprocal_rank_and_mrr() -> None:
    assert reciprocal_rank(["x", "y", "b"], RELEVANT) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y"], RELEVANT) == 0.0
    assert reciprocal_rank(["b", "a"], RELEVANT, min_grade=2) == pytest.approx(1 / 2)
    assert mean_reciprocal_rank([(["a"], RELEVANT), (["x", "b"], RELEVANT)]) == pytest.approx(0.75)
    assert mean_reciprocal_rank([]) == 0.0


@pytest.mark.parametrize("function", [ndcg_at_k, recall_at_k, precision_at_k])
def test_k_must_be_positive(function) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        function(["a"], RELEVANT, 0)


def test_evaluate_means_missing_queries_and_groups() -> None:
    qrels = {"q1": {"a": 2}, "q2": {"b": 1}}
    result = evaluate({"q1": ["a"]}, qrels, k=5, groups={"q1": "plain", "q2": "negation"})
    assert result.per_query["q1"]["ndcg@5"] == pytest.approx(1.0)
    assert result.per_query["q2"] == {"ndcg@5": 0.0, "recall@5": 0.0, "precision@5": 0.0, "mrr": 0.0}
    assert result.means["mrr"] == pytest.approx(0.5)
    assert result.by_group["plain"]["recall@5"] == pytest.approx(1.0)
    assert result.by_group["negation"]["recall@5"] == 0.0


def test_evaluate_rejects_a_query_without_relevant_documents() -> None:
    with pytest.raises(ValueError, match="'q1'"):
        evaluate({}, {"q1": {"a": 0}})
