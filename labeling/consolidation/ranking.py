"""Rankings of N responses (ties allowed): a Borda aggregation with a pairwise confidence,
optionally weighted by each worker's reliability.

Each answer gives every response a rank (1 = best; equal ranks are ties). The consolidated
order sorts the responses by their (weighted) mean rank (Borda count); responses with equal
mean ranks share a rank (dense ranks, "1, 1, 2"). The confidence is the (weighted) share of
(answer, pair of responses) whose order in the answer (better, worse or tie) is the
consolidated one's.

Reliability (``ranking_fit``): a worker's agreement is the share of their (answer, pair)
orders that match the consensus, smoothed with a Beta(3, 2) prior (a worker with few answers
stays near 0.6); their weight is the log-odds of that agreement, floored at ``MIN_WEIGHT``
(spammers, around a third, and adversaries, who reverse the order, weigh almost nothing).
The consensus and the weights are fitted by alternating, starting from equal weights.
Pure numpy; no database.
"""

from dataclasses import dataclass

import numpy as np

RANK_BORDA = "rank-borda"
RANK_WEIGHTED = "rank-weighted-borda"
MIN_WEIGHT = 0.05
PRIOR_AGREE, PRIOR_DISAGREE = 3.0, 2.0


def _pair_orders(ranks: np.ndarray) -> np.ndarray:
    first, second = np.triu_indices(ranks.shape[-1], k=1)
    return np.sign(ranks[..., first] - ranks[..., second])


def aggregate_ranks(
    ranks: np.ndarray, weights: np.ndarray | None = None
) -> tuple[list[int], float]:
    """``ranks`` is (answers × responses); the consolidated dense ranks and the confidence,
    each answer weighted by ``weights`` when given."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim != 2 or ranks.shape[0] == 0:
        raise ValueError("ranks must be a non-empty (answers × responses) array")
    w = np.ones(ranks.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = np.round((w[:, None] * ranks).sum(axis=0) / max(float(w.sum()), 1e-12), 9)
    levels = np.unique(mean)
    consolidated = [int(np.searchsorted(levels, m)) + 1 for m in mean]
    if ranks.shape[1] < 2:
        return consolidated, 1.0
    target = _pair_orders(np.array(consolidated, dtype=np.float64))
    agree = (_pair_orders(ranks) == target).mean(axis=1)
    return consolidated, float((w * agree).sum() / max(float(w.sum()), 1e-12))


@dataclass(frozen=True)
class RankingFit:
    weight: np.ndarray  # per worker
    agreement: np.ndarray  # per worker: smoothed share of pair orders matching the consensus


def ranking_fit(
    groups: list[np.ndarray],
    group_workers: list[np.ndarray],
    *,
    n_workers: int,
    iterations: int = 10,
) -> RankingFit:
    """Worker weights over a job: ``groups[g]`` is one (item, dimension)'s (answers ×
    responses) ranks, ``group_workers[g]`` whose answer each row is (0..n_workers-1)."""
    weight = np.ones(n_workers)
    agreement = np.full(n_workers, PRIOR_AGREE / (PRIOR_AGREE + PRIOR_DISAGREE))
    for _ in range(iterations):
        agree = np.zeros(n_workers)
        total = np.zeros(n_workers)
        for ranks, workers in zip(groups, group_workers, strict=True):
            ranks = np.asarray(ranks, dtype=np.float64)
            if ranks.shape[0] == 0 or ranks.shape[1] < 2:
                continue
            consensus, _ = aggregate_ranks(ranks, weight[workers])
            target = _pair_orders(np.array(consensus, dtype=np.float64))
            matches = (_pair_orders(ranks) == target).sum(axis=1)
            np.add.at(agree, workers, matches)
            np.add.at(total, workers, target.size)
        agreement = (agree + PRIOR_AGREE) / (total + PRIOR_AGREE + PRIOR_DISAGREE)
        new_weight = np.maximum(np.log(agreement / (1.0 - agreement)), MIN_WEIGHT)
        if np.allclose(new_weight, weight, atol=1e-6):
            break
        weight = new_weight
    return RankingFit(weight=weight, agreement=agreement)
