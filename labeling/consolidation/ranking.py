"""Rankings of N responses (ties allowed): a Borda aggregation with a pairwise confidence.

Each answer gives every response a rank (1 = best; equal ranks are ties). The consolidated
order sorts the responses by their mean rank (Borda count); responses with equal mean ranks
share a rank (dense ranks, "1, 1, 2"). The confidence is the share of (answer, pair of
responses) whose order in the answer (better, worse or tie) is the consolidated one's.
Pure numpy; no database.
"""

import numpy as np

RANK_BORDA = "rank-borda"


def aggregate_ranks(ranks: np.ndarray) -> tuple[list[int], float]:
    """``ranks`` is (answers × responses); the consolidated dense ranks and the confidence."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.ndim != 2 or ranks.shape[0] == 0:
        raise ValueError("ranks must be a non-empty (answers × responses) array")
    mean = np.round(ranks.mean(axis=0), 9)
    levels = np.unique(mean)
    consolidated = [int(np.searchsorted(levels, m)) + 1 for m in mean]
    n = ranks.shape[1]
    if n < 2:
        return consolidated, 1.0
    first, second = np.triu_indices(n, k=1)
    target = np.sign(np.array(consolidated)[first] - np.array(consolidated)[second])
    given = np.sign(ranks[:, first] - ranks[:, second])
    return consolidated, float(np.mean(given == target))
