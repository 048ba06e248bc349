"""Dawid–Skene EM for multi-label answers: every label is its own yes/no question.

An answer is a 0/1 row over the job's labels. Per label ``l`` an item's truth is present or
absent, with prior ``P(present) = priors[l]``; a worker ``w`` says yes to a present label with
probability ``sensitivity[w, l]`` and no to an absent one with ``specificity[w, l]``. EM learns
all of it together with each item's per-label posterior, for every label at once: each step
is a few ``bincount``s over the flat ``(answers × labels)`` arrays, no Python loop over answers
or labels. Beta pseudo-counts (2 for "right", 1 for "wrong", as the single-label EM) pull a
worker with few answers toward "better than chance". A previous run's estimates can seed the
first E step (warm start).
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.dawid_skene import DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE

RIGHT_PSEUDO_COUNT = 2.0
WRONG_PSEUDO_COUNT = 1.0
PRIOR_PSEUDO_COUNT = 1.0
# Keeps every log finite: no worker is ever taken to be perfectly right or wrong.
_EDGE = 1e-6


@dataclass(frozen=True)
class LabelReliability:
    """Per worker and label: P(yes | present), P(no | absent); per label: P(present)."""

    sensitivity: np.ndarray  # (n_workers, n_labels)
    specificity: np.ndarray  # (n_workers, n_labels)
    priors: np.ndarray  # (n_labels,)

    def accuracy(self) -> np.ndarray:
        """Each worker's expected share of right yes/no decisions, over the labels."""
        right = self.priors * self.sensitivity + (1 - self.priors) * self.specificity
        return right.mean(axis=1)


@dataclass(frozen=True)
class MultilabelEMResult:
    posteriors: np.ndarray  # (n_items, n_labels): P(label present)
    reliability: LabelReliability
    iterations: int

    @property
    def selected(self) -> np.ndarray:
        return self.posteriors >= 0.5


def _check(items, workers, chosen):
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    chosen = np.asarray(chosen, dtype=np.float64)
    if items.ndim != 1 or items.shape != workers.shape:
        raise ValueError("items and workers must be flat arrays of one length")
    if chosen.ndim != 2 or chosen.shape[0] != items.shape[0]:
        raise ValueError("chosen must be (n_answers, n_labels), one row per answer")
    return items, workers, chosen


def _flat_keys(keys: np.ndarray, n_labels: int) -> np.ndarray:
    """Per (answer, label) cell, the flat index of its (row, label) sum."""
    return (keys[:, None] * n_labels + np.arange(n_labels)).ravel()


def _sum_by(flat_keys: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """``(n_rows, L)`` sums of ``values`` (n_answers, L) grouped by precomputed flat keys."""
    n_labels = values.shape[1]
    return np.bincount(flat_keys, weights=values.ravel(), minlength=n_rows * n_labels).reshape(
        n_rows, n_labels
    )


def _log_ratios(sensitivity, specificity) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood ratio of present against absent for a yes and for a no."""
    sens = np.clip(sensitivity, _EDGE, 1 - _EDGE)
    spec = np.clip(specificity, _EDGE, 1 - _EDGE)
    return np.log(sens) - np.log(1 - spec), np.log(1 - sens) - np.log(spec)


def _posteriors(item_keys, chosen, yes, no, priors, n_items: int) -> np.ndarray:
    """E step from per-answer log ratios ``yes`` and ``no`` (n_answers, L)."""
    per_answer = np.where(chosen, yes, no)
    priors = np.clip(np.asarray(priors, dtype=np.float64), _EDGE, 1 - _EDGE)
    log_odds = _sum_by(item_keys, per_answer, n_items) + np.log(priors / (1 - priors))
    return 1.0 / (1.0 + np.exp(-log_odds))


def label_posteriors(
    items, chosen, sensitivity, specificity, priors, *, n_items: int
) -> np.ndarray:
    """``(n_items, L)`` P(present) given per-answer ``sensitivity``/``specificity`` rows
    (``(n_answers, L)``: the answering worker's) and the label priors."""
    items = np.asarray(items, dtype=np.int64)
    chosen = np.asarray(chosen, dtype=bool)
    yes, no = _log_ratios(np.asarray(sensitivity), np.asarray(specificity))
    keys = _flat_keys(items, chosen.shape[1])
    return _posteriors(keys, chosen, yes, no, priors, n_items)


class _Answers:
    """The flat arrays and their precomputed group keys, shared by every iteration."""

    def __init__(self, items, workers, chosen, n_items: int, n_workers: int):
        self.items, self.workers = items, workers
        self.chosen = chosen.astype(bool)
        self.yes_mask = chosen.astype(np.float64)
        self.n_items, self.n_workers = n_items, n_workers
        n_labels = chosen.shape[1]
        self.item_keys = _flat_keys(items, n_labels)
        self.worker_keys = _flat_keys(workers, n_labels)

    def posteriors(self, reliability: LabelReliability) -> np.ndarray:
        yes, no = _log_ratios(reliability.sensitivity, reliability.specificity)  # (W, L)
        return _posteriors(self.item_keys, self.chosen, yes[self.workers], no[self.workers],
                           reliability.priors, self.n_items)  # fmt: skip


def _m_step(posteriors, answers: _Answers) -> LabelReliability:
    present = posteriors[answers.items]  # (n_answers, L): P(the answer's item has the label)
    absent = 1 - present
    keys, n_workers, chosen = answers.worker_keys, answers.n_workers, answers.yes_mask
    said_yes = _sum_by(keys, present * chosen, n_workers)
    present_total = _sum_by(keys, present, n_workers)
    said_no = _sum_by(keys, absent * (1 - chosen), n_workers)
    absent_total = _sum_by(keys, absent, n_workers)
    pseudo = RIGHT_PSEUDO_COUNT + WRONG_PSEUDO_COUNT
    sensitivity = (said_yes + RIGHT_PSEUDO_COUNT) / (present_total + pseudo)
    specificity = (said_no + RIGHT_PSEUDO_COUNT) / (absent_total + pseudo)
    n_items = posteriors.shape[0]
    priors = (posteriors.sum(axis=0) + PRIOR_PSEUDO_COUNT) / (n_items + 2 * PRIOR_PSEUDO_COUNT)
    return LabelReliability(sensitivity, specificity, priors)


def multilabel_dawid_skene(
    items,
    workers,
    chosen,
    *,
    n_items: int,
    n_workers: int,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    start: LabelReliability | None = None,
) -> MultilabelEMResult:
    """Run EM until no posterior moves by ``tolerance``.

    Starts from the per-label vote share, or, with ``start`` (a previous run's estimates, one
    row per worker of this run), from the posteriors those estimates give.
    """
    items, workers, chosen = _check(items, workers, chosen)
    answers = _Answers(items, workers, chosen, n_items, n_workers)
    if start is None:
        answered = np.bincount(items, minlength=n_items)[:, None]
        yes = _sum_by(answers.item_keys, answers.yes_mask, n_items)
        posteriors = np.divide(yes, answered, out=np.full_like(yes, 0.5), where=answered > 0)
    else:
        posteriors = answers.posteriors(start)
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported below
        reliability = _m_step(posteriors, answers)
        updated = answers.posteriors(reliability)
        change = np.abs(updated - posteriors).max() if updated.size else 0.0
        posteriors = updated
        if change < tolerance:
            break
    reliability = _m_step(posteriors, answers)
    return MultilabelEMResult(posteriors, reliability, iterations)
