"""Worker reliability on drawing and span jobs, its weights, and adaptive overlap's stop rule.

Pure: callers pass each item's answers and two callables (consolidate some answers with
weights; score an answer against a consolidated value), so the re-estimation
(``labeling/quality/services/reliability_shapes.py``) and ``bench/quality_shapes.py`` run the
very same code over the task types' own consolidation and ``answer_similarity``.

**Reliability** of a worker is the mean similarity of their answers to their items' answers
consolidated *without* them (leave-one-out: nobody agrees with themselves), pulled toward the
job's mean by empirical Bayes (``shrunk``): by how much of the spread of the workers' means is
noise, given how many answers each rests on. When the workers are equally good their means
differ by noise only and everyone gets about the job's mean (equal weights, which the
strategies treat as no weights: weighting then adds no noise to consolidation); with spammers
the spread is real and a worker with many answers keeps their own mean, one with two lucky
answers does not. (A fixed 5 pseudo-answers, as first done, left equally good workers' noise
in the weights: weighted consolidation fell up to 0.0033 behind plain at overlap 3 in
bench/quality_shapes.py.) A second round consolidates the others' answers with the first
round's weights, so a crowd with many random workers still scores against a sound consensus.
The **weight** of an answer is its worker's reliability (floored at 0.01): a worker whose
answers match the consensus at 0.9 counts 9 times as much as one at 0.1; with the strategies'
slack on the keep threshold (``labeling/consolidation/matching.py``), workers of about the
same reliability still tie as plain voting ties them. (Reliability squared, as first tried,
lost up to 0.02 mean IoU against plain on crowds of good and mixed workers in
bench/quality_shapes.py, and gained no more on crowds with spammers.)

**Adaptive overlap** for these types: the answers of an item agree when the weighted mean of
their pairwise similarities (pair weight: the square of the product of the two workers'
weights) reaches the task type's threshold (``STOP_SIMILARITY``); a random worker's
disagreement thus barely holds up an item that two reliable workers agree on, while two
reliable workers who disagree do.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Rounds of leave-one-out: the first plain, then with the previous round's weights.
LOO_ROUNDS = 2
# The smallest weight an answer gets, so that a cluster's weights never sum to zero.
WEIGHT_FLOOR = 0.01
WEIGHT_POWER = 1.0

# Per consolidation strategy, the weighted mean pairwise similarity at which an item's answers
# agree (adaptive overlap stops asking). Boxes and spans: chosen by bench/quality_shapes.py's
# rule on its choice seed only (of 0.5-0.9, the threshold saving the most answers at equal
# quality whose quality, averaged over the crowds, stays within 0.01 of weighted fixed overlap
# 5): 0.8 for both at first; 0.7 for boxes since q19-shape2's weights (the same rule on the
# same seed, bench/RESULTS.md 04:33), 0.8 still for spans. The other types take 0.8 of their
# own measure (labeling/consolidation/similarity.py); no bench of theirs chose it.
STOP_SIMILARITY = {
    "boxes-iou": 0.7,
    "boxes-iou-per-frame": 0.8,
    "tracks-iou": 0.8,
    "polygons-pixel-vote": 0.8,
    "pixel-vote": 0.8,
    "keypoints-mean": 0.8,
    "polylines-mean": 0.8,
    "lines-mean": 0.8,
    "span-clustering": 0.8,
}
DEFAULT_STOP_SIMILARITY = 0.8


@dataclass(frozen=True)
class ItemAnswers:
    """One item: its answers (anything the callables take) and who gave each (dense index)."""

    workers: Sequence[int]
    answers: Sequence[Any]
    context: Any = None  # passed back to the callables (the item's data, its label maps, ...)


# consolidate(context, answers, weights or None) -> a consolidated value
Consolidate = Callable[[Any, list[Any], np.ndarray | None], Any]
# similarity(context, answer, consolidated value) -> float in [0, 1]
Similarity = Callable[[Any, Any, Any], float]


@dataclass(frozen=True)
class ShapeReliability:
    reliability: np.ndarray  # (n_workers,) mean leave-one-out similarity, shrunk (``shrunk``)
    agreement: np.ndarray  # (n_workers,) its raw mean, NaN for a worker with nothing scored
    scored: np.ndarray  # (n_workers,) answers scored (on items with at least two answers)
    job_mean: float  # the mean over every scored answer (the shrinkage target), NaN if none
    rounds: int


def reliability_weights(reliability) -> np.ndarray:
    """The weight of an answer from its worker's reliability: ``max(r, WEIGHT_FLOOR)``.
    An unknown reliability (NaN) counts as the mean of the known ones (1 when none is)."""
    r = np.asarray(reliability, dtype=np.float64).reshape(-1)
    known = ~np.isnan(r)
    r = np.where(known, r, r[known].mean() if known.any() else 1.0)
    return np.maximum(np.clip(r, 0.0, 1.0) ** WEIGHT_POWER, WEIGHT_FLOOR)


def shrunk(sums: np.ndarray, squares: np.ndarray, counts: np.ndarray, prior: float) -> np.ndarray:
    """Each worker's mean similarity pulled toward ``prior`` by how little it rests on
    (empirical Bayes, method of moments): ``prior + τ² / (τ² + σ² / n) × (mean − prior)``.

    σ² is the pooled spread of one answer's similarity around its worker's mean, so σ² / n is
    the noise in a worker's mean of n answers; τ² is the spread of the workers' true means,
    what the spread of their observed means has beyond that noise (0 when it has none). When
    the workers are equally good, τ² is about 0 and everyone gets the job's mean: equal
    weights, no noise added to consolidation. When they differ (spammers), τ² is large and a
    worker with many answers keeps their own mean. A worker with no answer scored gets
    ``prior``.
    """
    seen = counts > 0
    if not seen.any():
        return np.full(len(counts), np.nan)
    means = np.divide(sums, counts, out=np.full(len(counts), prior), where=seen)
    within = squares - sums * means  # Σ (x − mean)² per worker
    repeated = counts > 1
    if repeated.any() and (counts[repeated] - 1).sum() > 0:
        sigma2 = float(np.clip(within[repeated], 0.0, None).sum() / (counts[repeated] - 1).sum())
    else:
        sigma2 = 0.0
    noise = np.divide(sigma2, counts, out=np.full(len(counts), np.inf), where=seen)
    observed = means[seen]
    between = float(((observed - prior) ** 2).mean()) if len(observed) > 1 else 0.0
    tau2 = max(between - float(noise[seen].mean()), 0.0)
    if tau2 <= 0.0:
        return np.full(len(counts), prior)
    keep = tau2 / (tau2 + noise)
    return prior + keep * (means - prior)


def leave_one_out_reliability(
    items: Sequence[ItemAnswers],
    *,
    n_workers: int,
    consolidate: Consolidate,
    similarity: Similarity,
    rounds: int = LOO_ROUNDS,
) -> ShapeReliability:
    """Every worker's reliability from the items that have at least two answers."""
    sums = np.zeros(n_workers)
    squares = np.zeros(n_workers)
    counts = np.zeros(n_workers)
    weights: np.ndarray | None = None
    done = 0
    for _ in range(max(rounds, 1)):
        sums = np.zeros(n_workers)
        squares = np.zeros(n_workers)
        counts = np.zeros(n_workers)
        for item in items:
            workers = list(item.workers)
            if len(workers) < 2:
                continue
            for left_out, worker in enumerate(workers):
                others = [i for i in range(len(workers)) if i != left_out]
                others_weights = None if weights is None else weights[[workers[i] for i in others]]
                value = consolidate(item.context, [item.answers[i] for i in others], others_weights)
                score = similarity(item.context, item.answers[left_out], value)
                sums[worker] += score
                squares[worker] += score * score
                counts[worker] += 1
        done += 1
        if not counts.any():
            break
        weights = reliability_weights(shrunk(sums, squares, counts, sums.sum() / counts.sum()))
    job_mean = float(sums.sum() / counts.sum()) if counts.any() else float("nan")
    agreement = np.divide(sums, counts, out=np.full(n_workers, np.nan), where=counts > 0)
    reliability = shrunk(sums, squares, counts, job_mean)
    return ShapeReliability(reliability, agreement, counts.astype(np.int64), job_mean, done)


def answers_agreement(similarities: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The weighted mean of the pairwise similarities ``(k, k)`` of an item's k answers.

    Pair (i, j) weighs ``(weights[i] × weights[j]) ** 2`` (every pair alike without weights),
    so that a pair with an unreliable worker barely counts; 0.0 for fewer than two answers
    (nothing to agree on yet).
    """
    similarities = np.asarray(similarities, dtype=np.float64)
    k = len(similarities)
    if k < 2:
        return 0.0
    upper = np.triu_indices(k, 1)
    w = np.ones(k) if weights is None else np.asarray(weights, dtype=np.float64)
    pair_weights = ((w[:, None] * w[None, :]) ** 2)[upper]
    if pair_weights.sum() <= 0:
        return float(similarities[upper].mean())
    return float((similarities[upper] * pair_weights).sum() / pair_weights.sum())


def stop_similarity(consolidation: str) -> float:
    """The agreement at which adaptive overlap stops asking, for a consolidation strategy."""
    return STOP_SIMILARITY.get(consolidation, DEFAULT_STOP_SIMILARITY)
