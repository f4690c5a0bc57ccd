"""Ranking metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from bench.metrics import evaluate, ndcg_at_k, recall_at_k, reciprocal_rank, summarise


def test_ndcg_binary_and_graded() -> None:
    assert ndcg_at_k(["a", "b", "c"], {"a", "b"}, 10) == pytest.approx(1.0)
    # one relevant doc at rank 2 out of one: (1/log2 3) / 1
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    # graded: ideal puts grade 2 first
    got = ndcg_at_k(["b", "a"], {"a": 2, "b": 1}, 10)
    assert got == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["x", "y"], {"a"}, 1) == 0.0
    assert ndcg_at_k(["a"], set(), 10) == 0.0
    assert ndcg_at_k(["x", "a"], {"a"}, 1) == 0.0  # cut-off respected


def test_recall_and_mrr() -> None:
    assert recall_at_k(["a", "x", "b"], {"a", "b", "c", "d"}, 2) == pytest.approx(0.25)
    assert recall_at_k(["a", "x", "b"], {"a", "b", "c", "d"}, 100) == pytest.approx(0.5)
    assert reciprocal_rank(["x", "y", "a"], {"a"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y", "a"], {"a"}, k=2) == 0.0
    assert reciprocal_rank(["x"], {"a": 0}) == 0.0  # grade 0 is not relevant


def test_evaluate_and_summarise() -> None:
    per_query = evaluate({"q1": ["a"], "q2": ["x"]}, {"q1": {"a"}, "q2": {"b"}, "q3": {"c"}})
    assert set(per_query) == {"q1", "q2", "q3"}  # a query without a run counts as a miss
    summary = summarise(per_query)
    assert summary["mrr"] == pytest.approx(1 / 3) and summary["ndcg@10"] == pytest.approx(1 / 3)
