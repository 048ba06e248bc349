"""Dawid–Skene EM: each worker's confusion matrix and each item's class posterior, together.

Answers are three flat arrays of equal length (``items``, ``workers``, ``answers``: dense
indices). Every step is a ``bincount`` or a gather over those arrays, so one iteration costs a
few passes over the answers and no Python loop ever visits an answer. The full model learns a
``K × K`` confusion matrix per worker; the one-coin model learns one accuracy per worker and
spreads its errors evenly over the other classes.

Estimates start from majority vote and carry a small Dirichlet pseudo-count, so a worker with
few answers is pulled toward "better than chance" instead of toward a certain 0 or 1. Given
a previous run's estimates (``WarmStart``), EM starts from the posteriors they give instead:
after a few new answers it is already near its fixed point and needs few iterations.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.base import MISSING, register_strategy

DEFAULT_MAX_ITERATIONS = 50
DEFAULT_TOLERANCE = 1e-5
# "auto" switches from majority vote to EM once this many answers sit on items that have
# at least two answers: below it, confusion matrices are mostly pseudo-counts.
EM_MIN_OVERLAPPING_ANSWERS = 200


@dataclass(frozen=True)
class PseudoCounts:
    """Dirichlet pseudo-counts: per confusion row, ``diagonal`` on the right answer and
    ``off_diagonal`` spread evenly over the wrong ones; ``prior`` per class prior.

    ``pooled`` (0 = off) adds a hierarchical prior on top: per row, that many pseudo-answers
    spread like the worker's *pooled* estimate, their own accuracy shrunk toward the crowd's,
    their errors distributed as the whole crowd's errors (``bench/em_sparse.py``)."""

    diagonal: float = 2.0
    off_diagonal: float = 1.0
    prior: float = 1.0
    pooled: float = 0.0


# Chosen on simulated crowds (bench/em_pseudo_counts.py), never on a real data set's truth.
DEFAULT_PSEUDO_COUNTS = PseudoCounts()


@dataclass(frozen=True)
class WarmStart:
    """A previous run's estimates, one confusion matrix per worker of *this* run (a worker
    new since then gets any reasonable default) and the class priors."""

    confusions: np.ndarray  # (n_workers, K true, K answered)
    priors: np.ndarray  # (K,)


@dataclass(frozen=True)
class EMResult:
    """What EM learned: a posterior per item and a confusion matrix per worker."""

    posteriors: np.ndarray  # (n_items, K), rows sum to 1
    priors: np.ndarray  # (K,)
    confusions: np.ndarray  # (n_workers, K true, K answered), rows sum to 1
    iterations: int

    @property
    def labels(self) -> np.ndarray:
        """The most probable class per item; ties go to the class listed first."""
        return self.posteriors.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.posteriors.max(axis=1)

    def worker_accuracy(self) -> np.ndarray:
        """Expected share of a worker's answers that are right, under the class priors."""
        diagonal = np.einsum("wkk->wk", self.confusions)
        return diagonal @ self.priors


def _check(items, workers, answers, n_classes):
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    answers = np.asarray(answers, dtype=np.int64)
    if not (items.shape == workers.shape == answers.shape) or items.ndim != 1:
        raise ValueError("items, workers and answers must be flat arrays of one length")
    if answers.size and (answers.min() < 0 or answers.max() >= n_classes):
        raise ValueError("an answer names a class outside 0..n_classes-1")
    return items, workers, answers


def vote_counts(items: np.ndarray, answers: np.ndarray, n_items: int, n_classes: int):
    """``(n_items, K)`` counts of each class among each item's answers."""
    flat = np.bincount(items * n_classes + answers, minlength=n_items * n_classes)
    return flat.reshape(n_items, n_classes).astype(np.float64)


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=-1, keepdims=True)
    return np.divide(matrix, totals, out=np.full_like(matrix, 1.0 / matrix.shape[-1]),
                     where=totals > 0)  # fmt: skip


def _initial_posteriors(items, answers, n_items, n_classes) -> np.ndarray:
    counts = vote_counts(items, answers, n_items, n_classes)
    return _normalise_rows(counts)


def _estimate_confusions(posteriors, items, workers, answers, n_workers, n_classes, pseudo):
    """M step: expected (true class, answer) counts per worker, plus the pseudo-counts."""
    key = workers * n_classes + answers
    counts = np.empty((n_classes, n_workers * n_classes))
    responsibility = posteriors[items]  # (n_answers, K): P(item's true class = k)
    for true_class in range(n_classes):  # K passes over the answers, not one per answer
        counts[true_class] = np.bincount(
            key, weights=responsibility[:, true_class], minlength=n_workers * n_classes
        )
    # (K true, W, K answered) -> (W, K true, K answered)
    confusions = counts.reshape(n_classes, n_workers, n_classes).transpose(1, 0, 2)
    off = pseudo.off_diagonal / max(n_classes - 1, 1)
    fixed = off + np.eye(n_classes) * (pseudo.diagonal - off)
    if pseudo.pooled:
        confusions = confusions + pseudo.pooled * _pooled_means(confusions, fixed, pseudo.pooled)
    return _normalise_rows(confusions + fixed)


def _pooled_means(counts: np.ndarray, fixed: np.ndarray, strength: float) -> np.ndarray:
    """Per worker, the confusion matrix a few-answer worker is pulled toward: the worker's
    share of right answers shrunk toward the crowd's by ``strength`` pseudo-answers, the
    wrong ones spread as the whole crowd spreads its errors for that true class."""
    n_classes = counts.shape[1]
    diagonal = np.arange(n_classes)
    crowd = counts.sum(axis=0)
    errors = _normalise_rows((crowd + fixed) * (1.0 - np.eye(n_classes)))
    answered = counts.sum(axis=(1, 2))
    crowd_accuracy = np.trace(crowd) / max(answered.sum(), 1e-12)
    accuracy = (counts[:, diagonal, diagonal].sum(axis=1) + strength * crowd_accuracy) / (
        answered + strength
    )
    means = errors[None] * (1.0 - accuracy)[:, None, None]
    means[:, diagonal, diagonal] = accuracy[:, None]
    return means


def _estimate_priors(posteriors: np.ndarray, pseudo: PseudoCounts) -> np.ndarray:
    priors = posteriors.sum(axis=0) + pseudo.prior
    return priors / priors.sum()


def posteriors_from_confusions(
    items: np.ndarray,
    workers: np.ndarray,
    answers: np.ndarray,
    *,
    n_items: int,
    confusions: np.ndarray,
    priors: np.ndarray,
) -> np.ndarray:
    """E step: each item's class posterior given known worker confusion matrices.

    Also the way a single item is scored when its answers are in: with the job's current
    worker estimates, no EM run needed.
    """
    n_classes = priors.shape[0]
    log_confusion = np.log(confusions)  # (W, K true, K answered)
    # Per answer, log P(answer | true class k) for every k: a gather of (n_answers, K).
    per_answer = log_confusion[workers, :, answers]
    log_post = np.empty((n_items, n_classes))
    for true_class in range(n_classes):
        log_post[:, true_class] = np.bincount(
            items, weights=per_answer[:, true_class], minlength=n_items
        )
    log_post += np.log(priors)
    log_post -= log_post.max(axis=1, keepdims=True)
    np.exp(log_post, out=log_post)
    return _normalise_rows(log_post)


def _one_coin_confusions(accuracy: np.ndarray, n_classes: int) -> np.ndarray:
    off = (1.0 - accuracy) / max(n_classes - 1, 1)
    confusions = np.repeat(off[:, None, None], n_classes, axis=1).repeat(n_classes, axis=2)
    diagonal = np.arange(n_classes)
    confusions[:, diagonal, diagonal] = accuracy[:, None]
    return confusions


def _estimate_one_coin(posteriors, items, workers, answers, n_workers, n_classes, pseudo):
    """M step of one-coin: a worker's accuracy is the expected share of right answers."""
    right = np.bincount(workers, weights=posteriors[items, answers], minlength=n_workers)
    total = np.bincount(workers, minlength=n_workers).astype(np.float64)
    accuracy = (right + pseudo.diagonal) / (total + pseudo.diagonal + pseudo.off_diagonal)
    # Keep every accuracy strictly inside (0, 1): its log is taken in the E step.
    return _one_coin_confusions(np.clip(accuracy, 1e-6, 1 - 1e-6), n_classes)


def dawid_skene(
    items,
    workers,
    answers,
    *,
    n_items: int,
    n_workers: int,
    n_classes: int,
    one_coin: bool = False,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    pseudo: PseudoCounts = DEFAULT_PSEUDO_COUNTS,
    start: WarmStart | None = None,
) -> EMResult:
    """Run EM until the posteriors move less than ``tolerance`` (max absolute change).

    The first posteriors are the majority vote's, or with ``start`` those the previous
    estimates give (one E step).
    """
    items, workers, answers = _check(items, workers, answers, n_classes)
    if start is None:
        posteriors = _initial_posteriors(items, answers, n_items, n_classes)
    else:
        if start.confusions.shape != (n_workers, n_classes, n_classes):
            raise ValueError("a warm start needs one K x K matrix per worker")
        priors = np.clip(np.asarray(start.priors, dtype=np.float64), 1e-6, None)
        posteriors = posteriors_from_confusions(
            items, workers, answers, n_items=n_items,
            confusions=np.clip(start.confusions, 1e-6, None), priors=priors / priors.sum(),
        )  # fmt: skip
    estimate = _estimate_one_coin if one_coin else _estimate_confusions
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported below
        confusions = estimate(posteriors, items, workers, answers, n_workers, n_classes, pseudo)
        priors = _estimate_priors(posteriors, pseudo)
        updated = posteriors_from_confusions(
            items, workers, answers, n_items=n_items, confusions=confusions, priors=priors
        )
        change = np.abs(updated - posteriors).max() if updated.size else 0.0
        posteriors = updated
        if change < tolerance:
            break
    confusions = estimate(posteriors, items, workers, answers, n_workers, n_classes, pseudo)
    return EMResult(posteriors, _estimate_priors(posteriors, pseudo), confusions, iterations)


def flatten_votes(votes: np.ndarray, worker_ids: np.ndarray | None):
    """Turn the strategy interface's ``(items, slots)`` arrays into flat dense indices."""
    votes = np.asarray(votes, dtype=np.int64)
    if votes.ndim != 2:
        raise ValueError("votes must be a 2-D array (items x answers)")
    if worker_ids is None:
        raise ValueError("EM needs to know which worker gave each answer")
    rows, cols = np.nonzero(votes != MISSING)
    raw_workers = np.asarray(worker_ids, dtype=np.int64)[rows, cols]
    worker_keys, workers = np.unique(raw_workers, return_inverse=True)
    return rows, workers, votes[rows, cols], worker_keys


class DawidSkene:
    """The strategy interface over :func:`dawid_skene` (full confusion matrices)."""

    name = "dawid_skene"
    one_coin = False

    def consolidate(
        self, votes: np.ndarray, n_classes: int, worker_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        items, workers, answers, worker_keys = flatten_votes(votes, worker_ids)
        n_items = np.asarray(votes).shape[0]
        result = dawid_skene(
            items,
            workers,
            answers,
            n_items=n_items,
            n_workers=len(worker_keys),
            n_classes=n_classes,
            one_coin=self.one_coin,
        )
        answered = np.bincount(items, minlength=n_items) > 0
        winners = np.where(answered, result.labels, MISSING)
        return winners, np.where(answered, result.confidence, 0.0)


class OneCoin(DawidSkene):
    """Dawid–Skene with one accuracy per worker (errors spread evenly)."""

    name = "one_coin"
    one_coin = True


register_strategy(DawidSkene())
register_strategy(OneCoin())
