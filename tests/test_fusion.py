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


def test_collapse_ranks_each_document_at_its_best_passage():
    """A leg's passages → documents: order of first (best) passage, that passage's id and score, the
    1-based rank; documents the leg did not find are absent from every mapping (``in`` is False)."""
    from indexer.backend.base import IndexBackend, PassageHit
    from search_api.retrieval import _collapse

    doc_of = {10: "A", 11: "A", 20: "B", 30: "C", 31: "C", 40: "D"}

    class _Backend:  # the interface's generic first_passages over a pid → document map
        documents_of = staticmethod(lambda pids: {p: doc_of[p] for p in pids if p in doc_of})
        first_passages = IndexBackend.first_passages

    hits = [PassageHit(31, 9.0), PassageHit(10, 8.0), PassageHit(99, 7.5), PassageHit(30, 7.0), PassageHit(20, 6.0),
            PassageHit(11, 5.0), (40, 4.0)]
    ranking = _collapse(hits, _Backend())
    assert ranking.doc_ids == ["C", "A", "B", "D"]
    assert dict(ranking.best_pid) == {"C": 31, "A": 10, "B": 20, "D": 40}
    assert dict(ranking.best_score) == {"C": 9.0, "A": 8.0, "B": 6.0, "D": 4.0}
    assert list(ranking.best_score.values()) == [9.0, 8.0, 6.0, 4.0] and list(ranking.best_pid.values()) == [31, 10, 20, 40]
    assert dict(ranking.rank) == {"C": 1, "A": 2, "B": 3, "D": 4}
    assert ranking.rank.get("B") == 3 and ranking.rank.get("Z") is None and ranking.best_pid["A"] == 10
    assert "Z" not in ranking.best_pid and "Z" not in ranking.best_score and len(ranking.best_pid) == 4
    assert _collapse([], _Backend()).doc_ids == []


def test_fused_page_first_tier_keeps_fused_order_within_each_tier():
    from search_api.retrieval import _fused_page, _LegRanking

    lexical = _LegRanking(["a", "b", "c"], {}, {})
    dense = _LegRanking(["x", "c", "y"], {}, {})
    rankings, weights = {"lexical": lexical, "dense": dense}, {"lexical": 1.0, "dense": 1.0}
    plain, n = _fused_page(rankings, weights, 60, 0, 10)
    assert [d for d, _ in plain] == ["c", "a", "x", "b", "y"] and n == 5
    tiered, n = _fused_page(rankings, weights, 60, 0, 10, first={"a", "b", "c"})
    assert [d for d, _ in tiered] == ["c", "a", "b", "x", "y"] and n == 5
    assert dict(tiered) == dict(plain)  # scores kept
    assert [d for d, _ in _fused_page(rankings, weights, 60, 2, 4, first={"a", "b", "c"})[0]] == ["b", "x"]
