from __future__ import annotations

import pytest

from search_api.fusion import reciprocal_rank_fusion


def test_rrf_rewards_agreement_between_legs() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "d"]], k=60)
    ids = [key for key, _ in fused]
    # c (1st + 3rd) edges out b (2nd + 2nd); both beat documents seen by one leg only.
    assert ids == ["c", "b", "a", "d"]
    scores = dict(fused)
    assert scores["b"] == pytest.approx(2 / 62)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)


def test_rrf_weights_shift_the_order() -> None:
    rankings = [["lex"], ["dense"]]
    assert reciprocal_rank_fusion(rankings, weights=[2.0, 1.0])[0][0] == "lex"
    assert reciprocal_rank_fusion(rankings, weights=[1.0, 2.0])[0][0] == "dense"


def test_rrf_ties_are_deterministic_and_duplicates_count_once() -> None:
    fused = reciprocal_rank_fusion([["x", "x", "y"]], k=0)
    assert fused == [("x", 1.0), ("y", pytest.approx(1 / 3))]
    assert [key for key, _ in reciprocal_rank_fusion([["p"], ["q"]])] == ["p", "q"]


def test_rrf_rejects_mismatched_weights() -> None:
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])


def test_one_ranking_fast_path_equals_the_general_fusion():
    """The one-leg shortcut returns what the general path returns (same scores, same order)."""
    import search_api.fusion as fusion

    ranking = ["a", "b", "a", "c", "b", "d"]
    for weight in (1.0, 1.5, 0.0):
        fast = fusion.reciprocal_rank_fusion([ranking], [weight], k=60)
        general = fusion.reciprocal_rank_fusion([ranking, []], [weight, 1.0], k=60)  # two legs: no shortcut
        assert fast == general
        assert [key for key, _ in fast] == ["a", "b", "c", "d"]


def test_one_distinct_ranking_scores_from_the_table_equal_the_general_fusion():
    """A collapsed leg (each id once) takes its scores from a per-(weight, k) table grown on demand:
    the same floats and order as the general path, for short and long rankings, any weight or k."""
    import search_api.fusion as fusion

    for size in (0, 1, 7, 1500, 3000):
        ranking = [f"doc-{i}" for i in range(size)]
        for weight, k in ((1.0, 60), (0.7, 60), (1.3, 10), (0.0, 0)):
            fast = fusion.reciprocal_rank_fusion([ranking], [weight], k=k)
            general = fusion.reciprocal_rank_fusion([ranking, []], [weight, 1.0], k=k)  # two legs: no shortcut
            assert fast == general, (size, weight, k)
            assert [key for key, _ in fast] == ranking
