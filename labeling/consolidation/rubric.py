"""Rubric ratings (a Likert score per criterion): reliability-weighted medians.

Each answer rates one item on every criterion (1..scale). A worker's reliability is how
close their scores sit to the items' consensus: ``weight = 1 / (0.25 + mean |score −
consensus|)²``, fitted by alternating with the consensus (the weighted median per item and
criterion) over a whole job, starting from equal weights. Spammers (uniform scores) and
adversaries (reversed scores) end up far from the consensus and weigh little. The
confidence of a consolidated score is the weighted share of answers within one point of it.
Pure numpy; no database.
"""

from dataclasses import dataclass

import numpy as np

RUBRIC_MEDIAN = "rubric-median"
RUBRIC_WEIGHTED = "rubric-weighted-median"
ERROR_FLOOR = 0.25


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The lower weighted median: the smallest value whose cumulative weight reaches half."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, cumulative[-1] / 2.0))
    return float(values[order][min(index, values.size - 1)])


def item_scores(
    scores: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One item: ``scores`` is (answers × criteria); the (weighted) median per criterion and
    its confidence (the weighted share of answers within one point of it)."""
    scores = np.asarray(scores, dtype=np.float64)
    n_answers, n_criteria = scores.shape
    w = np.ones(n_answers) if weights is None else np.asarray(weights, dtype=np.float64)
    medians = np.array([weighted_median(scores[:, c], w) for c in range(n_criteria)])
    close = np.abs(scores - medians) <= 1.0
    confidence = (w[:, None] * close).sum(axis=0) / max(float(w.sum()), 1e-12)
    return medians, confidence


@dataclass(frozen=True)
class RubricFit:
    consensus: np.ndarray  # items × criteria
    weight: np.ndarray  # per worker
    error: np.ndarray  # per worker: mean absolute distance to the consensus


def rubric_fit(
    items: np.ndarray,
    workers: np.ndarray,
    scores: np.ndarray,
    *,
    n_items: int,
    n_workers: int,
    iterations: int = 10,
) -> RubricFit:
    """Worker weights and item consensus over a job: one row of ``scores`` (criteria) per
    answer, ``items[k]`` and ``workers[k]`` saying whose answer on what."""
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(items), -1)
    weight = np.ones(n_workers)
    error = np.zeros(n_workers)
    consensus = np.zeros((n_items, scores.shape[1]))
    order = np.argsort(items, kind="stable")
    bounds = np.searchsorted(items[order], np.arange(n_items + 1))
    for _ in range(iterations):
        for i in range(n_items):
            rows = order[bounds[i] : bounds[i + 1]]
            if rows.size:
                consensus[i], _ = item_scores(scores[rows], weight[workers[rows]])
        distance = np.abs(scores - consensus[items]).mean(axis=1)
        total = np.bincount(workers, weights=distance, minlength=n_workers)
        count = np.bincount(workers, minlength=n_workers)
        # A worker with few answers is pulled towards an average error of one point.
        error = (total + 1.0) / (count + 1.0)
        new_weight = 1.0 / (ERROR_FLOOR + error) ** 2
        if np.allclose(new_weight, weight, atol=1e-6):
            break
        weight = new_weight
    return RubricFit(consensus=consensus, weight=weight, error=error)
