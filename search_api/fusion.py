"""Reciprocal Rank Fusion (Cormack et al., 2009) with per-leg weights.

RRF only uses ranks, so BM25 scores and cosine similarities, which live on unrelated scales, can be
combined without normalisation. Weights let a deployment favour one leg (e.g. per language).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Key]],
    weights: Sequence[float] | None = None,
    k: int = 60,
) -> list[tuple[Key, float]]:
    """Fuse ranked lists of ids: score(id) = Σ_legs weight / (k + rank), rank starting at 1.

    Ties are broken by first appearance (leg order, then rank) so results are deterministic.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking is required")
    if k < 0:
        raise ValueError("k must be non-negative")
    if len(rankings) == 1 and weights[0] >= 0:  # one leg (lexical or dense mode): its own order, no sort
        return _single(rankings[0], weights[0], k)
    scores: dict[Key, float] = {}
    for ranking, weight in zip(rankings, weights):
        seen: set[Key] = set()
        for rank, key in enumerate(ranking, start=1):
            if key in seen:  # a leg votes once per id, at its best rank
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    order = {key: i for i, key in enumerate(scores)}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


def _single(ranking: Sequence[Key], weight: float, k: int) -> list[tuple[Key, float]]:
    """What the general path returns for one ranking (same scores, same order: an id's score falls
    with its first rank for a weight ≥ 0, equal scores keep rank order), in one pass: lexical-only search fuses one leg of a few
    hundred documents per query, and the dict, the order map and the sort were ~0.3 ms of it."""
    seen: set[Key] = set()
    fused: list[tuple[Key, float]] = []
    for rank, key in enumerate(ranking, start=1):
        if key not in seen:
            seen.add(key)
            fused.append((key, 0.0 + weight / (k + rank)))
    return fused
