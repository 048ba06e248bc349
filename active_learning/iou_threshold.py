"""Picking the auto-label threshold of box and mask jobs: a one-sided lower bound of the mean
IoU of the validation items above it must meet the job's target (0.6 boxes, 0.7 masks).

The classification twin is ``active_learning.threshold`` (a Clopper–Pearson bound of an
accuracy); here each validation item brings a value in [0, 1] (the IoU of the model's answer
against the human label, misses and extras scoring 0), so the bound is one for the mean of
bounded values. Pure numpy: the ORM layer gathers the scores and IoUs and stores the choice.
"""

from dataclasses import dataclass

import numpy as np

from active_learning.threshold import DEFAULT_ALPHA


def mean_lower_bound(values: np.ndarray, alpha: float) -> float:
    """A one-sided lower confidence bound, level 1 − alpha, of the mean of i.i.d. values in
    [0, 1]: the larger of Hoeffding's and the empirical Bernstein bound, each at alpha / 2.

    Why these: both hold for any distribution on [0, 1] with no normal approximation (a t
    bound or a bootstrap can undercover on the small, skewed samples a validation slice
    gives: most IoUs near 0.9, a few misses at 0). Hoeffding's, mean − sqrt(ln(1/δ) / 2n), is
    the tighter one when the IoUs are spread out; the empirical Bernstein bound of Maurer and
    Pontil (2009, thm. 4), mean − sqrt(2 V ln(2/δ) / n) − 7 ln(2/δ) / 3(n − 1) with V the
    sample variance, when they are concentrated, as good models' are. A union bound over the
    two (δ = alpha / 2 each) keeps the level at 1 − alpha for the larger.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return 0.0
    mean = float(values.mean())
    delta = alpha / 2
    hoeffding = mean - float(np.sqrt(np.log(1 / delta) / (2 * n)))
    if n < 2:
        return max(0.0, hoeffding)
    variance = float(values.var(ddof=1))
    log_term = float(np.log(2 / delta))
    bernstein = mean - np.sqrt(2 * variance * log_term / n) - 7 * log_term / (3 * (n - 1))
    return float(max(0.0, hoeffding, bernstein))


def mean_upper_bound(values: np.ndarray, alpha: float) -> float:
    """The matching one-sided upper bound (the lower bound of 1 − values, mirrored)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return 1.0
    return 1.0 - mean_lower_bound(1.0 - values, alpha)


@dataclass(frozen=True)
class IouThresholdChoice:
    """The threshold (None: nothing may be auto-labeled) and the evidence behind it.

    Shaped like ``ThresholdChoice`` so the loop can store either: ``accuracy`` is the mean IoU
    of the covered validation items and ``correct`` how many of them reach the target alone.
    """

    threshold: float | None
    covered: int  # validation items at or above the threshold
    mean_iou: float | None  # of those
    correct: int  # of those, items whose own IoU reaches the target
    lower_bound: float
    validation_size: int
    # Each round of a box or mask job is judged alone, on the unmarked validation items.
    carried_covered: int = 0
    alpha: float = DEFAULT_ALPHA

    @property
    def accuracy(self) -> float | None:
        return self.mean_iou

    @property
    def coverage(self) -> float:
        return self.covered / self.validation_size if self.validation_size else 0.0


def select_iou_threshold(
    scores: np.ndarray,
    ious: np.ndarray,
    *,
    target: float,
    alpha: float = DEFAULT_ALPHA,
) -> IouThresholdChoice:
    """The lowest score t at which the lower bound of the mean IoU of items ≥ t meets target.

    ``scores`` are the model's per-item scores on a random held-out validation slice and
    ``ious`` the IoU of its answer against the human label of each. Every distinct score is a
    candidate; the items "at or above" a candidate include its ties. As for classification,
    each candidate's bound is taken at level 1 − alpha.
    """
    scores = np.asarray(scores, dtype=np.float64)
    ious = np.clip(np.asarray(ious, dtype=np.float64), 0.0, 1.0)
    size = len(scores)
    if size == 0:
        return IouThresholdChoice(None, 0, None, 0, 0.0, 0, alpha=alpha)
    order = np.argsort(-scores, kind="stable")
    ranked, ranked_ious = scores[order], ious[order]
    ends = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    bounds = np.array([mean_lower_bound(ranked_ious[: end + 1], alpha) for end in ends])
    passing = np.flatnonzero(bounds >= target)
    if len(passing) == 0:
        return IouThresholdChoice(None, 0, None, 0, float(bounds.max()), size, alpha=alpha)
    lowest = int(passing[-1])  # candidates run from the highest score down
    covered = ranked_ious[: ends[lowest] + 1]
    return IouThresholdChoice(
        threshold=float(ranked[ends[lowest]]),
        covered=len(covered),
        mean_iou=float(covered.mean()),
        correct=int((covered >= target).sum()),
        lower_bound=float(bounds[lowest]),
        validation_size=size,
        alpha=alpha,
    )
