"""Paired significance of one system against another over the same queries (Fisher randomisation test on
ranx's per-query scores), so that no table says "beats" on a difference the queries do not support.

A difference is called significant at p < 0.05 (two-sided, 10,000 random swaps of the two systems'
per-query scores, :func:`randomisation_p`); the per-query wins / ties / losses come with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eval.metrics import ranx_qrels, ranx_run

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    metric: str
    system: float
    baseline: float
    p_value: float
    wins: int
    ties: int
    losses: int

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def verdict(self) -> str:
        """``better`` / ``worse`` only when significant, else ``tie (n.s.)``."""
        if not self.significant:
            return "tie (n.s.)"
        return "better" if self.system > self.baseline else "worse"

    def cell(self) -> str:
        return f"{self.system - self.baseline:+.3f} (p={self.p_value:.3f}, {self.wins}/{self.ties}/{self.losses}) {self.verdict()}"


def compare(
    system: Mapping[str, Sequence[str]], baseline: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]],
    metrics: Sequence[str] = ("ndcg@10",), binary: bool = True, seed: int = 42,
) -> dict[str, Comparison]:
    """Each ranx metric of *system* vs *baseline* on *qrels*, with its randomisation-test p-value."""
    from ranx import compare as ranx_compare

    ids = list(qrels)
    a, b = ranx_run(system, ids, "system"), ranx_run(baseline, ids, "baseline")
    report = ranx_compare(ranx_qrels(qrels, binary=binary), [a, b], list(metrics), stat_test="fisher",
                          max_p=ALPHA, random_seed=seed).to_dict()
    out = {}
    for metric in metrics:
        wtl = report["system"]["win_tie_loss"]["baseline"][metric]
        p_value = randomisation_p([a.scores[metric][q] for q in ids], [b.scores[metric][q] for q in ids], seed=seed)
        out[metric] = Comparison(
            metric, float(report["system"]["scores"][metric]), float(report["baseline"]["scores"][metric]),
            p_value, int(wtl["W"]), int(wtl["T"]), int(wtl["L"]),
        )
    return out


def randomisation_p(system: Sequence[float], baseline: Sequence[float], permutations: int = 10_000, seed: int = 42,
                    tolerance: float = 1e-9) -> float:
    """Two-sided paired Fisher randomisation test of the mean difference: the share of random sign flips of the
    per-query differences whose |mean| reaches the observed one. Why not ranx's p: it compares float means
    summed in another order, so when most queries tie, a flip that gives exactly the observed difference can
    come out a rounding error below it and not count (2 changed queries of 91: p = 0.000 instead of 0.5).
    Here differences below *tolerance* are ties (0) and the comparison allows for the rounding."""
    import numpy as np

    diff = np.asarray(system, dtype=float) - np.asarray(baseline, dtype=float)
    diff[np.abs(diff) < tolerance] = 0.0
    observed = abs(diff.sum())
    if observed < tolerance:
        return 1.0
    signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(permutations, diff.size))
    return float(np.mean(np.abs(signs @ diff) >= observed - tolerance))
