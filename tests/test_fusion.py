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


def test_engine_page_of_one_leg_equals_the_fused_list_sliced():
    """The search engine scores only the page of a one-leg search (lexical or dense mode): the same
    entries, scores and ``ranked`` length as fusing the whole ranking and slicing it; several legs
    (and a negative weight) go through the general fusion."""
    from search_api.fusion import reciprocal_rank_fusion
    from search_api.retrieval import _fused_page, _LegRanking

    docs = [f"D{i}" for i in range(57)]
    legs = {"lexical": _LegRanking(docs, {}, {}), "dense": _LegRanking(docs[::-1][:20], {}, {})}
    for names, weights in ((["lexical"], {"lexical": 1.0}), (["lexical"], {"lexical": 0.7}), (["dense"], {"dense": -1.0}),
                           (["lexical", "dense"], {"lexical": 1.0, "dense": 1.0})):
        rankings = {name: legs[name] for name in names}
        fused = reciprocal_rank_fusion([r.doc_ids for r in rankings.values()], [weights[n] for n in names], k=60)
        for offset, end in ((0, 10), (10, 20), (50, 70), (60, 100), (0, 0)):
            assert _fused_page(rankings, weights, 60, offset, end) == (fused[offset:end], len(fused))
