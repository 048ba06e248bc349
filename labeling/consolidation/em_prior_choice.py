"""Choosing EM's prior strength from the answers alone: held-out answer likelihood.

A Dirichlet prior on the confusion rows is right when workers look like it and wrong when they
do not, and the truth that would tell is never at hand. What the answers can tell is how well
each candidate prior *predicts answers it did not see*: the answers are split into folds, EM
runs on all folds but one, and each held-out answer of worker ``w`` on item ``i`` is scored by
its predictive probability ``sum_c P(true class c | i's other answers) * confusion[w, c, a]``
(an item with no other answer uses the class priors). The log of it, averaged over every
answer, is a proper score: in expectation it is highest for the prior closest to how the
crowd's workers really vary (empirical Bayes by cross-validation). Sharp, few-answer rows
(maximum likelihood) are punished when the worker's next answer is one they never gave.

Cost: ``folds × len(candidates)`` EM runs, so this is for choosing a job's prior now and then,
never for the per-answer path. The re-estimation does not call it (measured in
``bench/em_prior_choice.py`` and ``bench/consolidation.py``: on the real face set it chose a
prior that did worse than the default; docs/quality.md); it is the tested candidate that a
job setting would use.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.dawid_skene import PseudoCounts, dawid_skene

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class PriorChoice:
    """The candidate with the best held-out score, and every candidate's score (mean
    log-probability per held-out answer, in the candidates' order)."""

    pseudo: PseudoCounts
    index: int
    scores: tuple[float, ...]


def heldout_answer_log_likelihood(
    items: np.ndarray,
    workers: np.ndarray,
    answers: np.ndarray,
    *,
    n_items: int,
    n_workers: int,
    n_classes: int,
    pseudo: PseudoCounts,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> float:
    """Mean log predictive probability of each answer under EM fitted without its fold."""
    items, workers, answers = (np.asarray(a, dtype=np.int64) for a in (items, workers, answers))
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if len(answers) < folds:
        raise ValueError(f"{len(answers)} answers cannot be split into {folds} folds")
    fold = np.random.default_rng(seed).permutation(len(answers)) % folds
    shape = {"n_items": n_items, "n_workers": n_workers, "n_classes": n_classes}
    total = 0.0
    for held in range(folds):
        kept = fold != held
        fitted = dawid_skene(items[kept], workers[kept], answers[kept], **shape, pseudo=pseudo)
        posteriors = fitted.posteriors
        unseen = np.bincount(items[kept], minlength=n_items) == 0
        posteriors[unseen] = fitted.priors  # nothing left to say about these items
        out = ~kept
        rows = fitted.confusions[workers[out], :, answers[out]]  # (held-out answers, K true)
        predictive = np.einsum("nk,nk->n", posteriors[items[out]], rows)
        total += float(np.log(np.clip(predictive, 1e-300, None)).sum())
    return total / len(answers)


def choose_pseudo_counts(
    items: np.ndarray,
    workers: np.ndarray,
    answers: np.ndarray,
    *,
    n_items: int,
    n_workers: int,
    n_classes: int,
    candidates: tuple[PseudoCounts, ...],
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> PriorChoice:
    """The candidate prior whose EM best predicts held-out answers (the first on a tie)."""
    if not candidates:
        raise ValueError("choose_pseudo_counts needs at least one candidate prior")
    shape = {"n_items": n_items, "n_workers": n_workers, "n_classes": n_classes}
    scores = tuple(
        heldout_answer_log_likelihood(
            items, workers, answers, **shape, pseudo=pseudo, folds=folds, seed=seed
        )
        for pseudo in candidates
    )
    best = int(np.argmax(scores))
    return PriorChoice(candidates[best], best, scores)


def scaled(pseudo: PseudoCounts, factor: float) -> PseudoCounts:
    """The same prior shape with ``factor`` times the pseudo-answers (``factor`` > 0)."""
    if factor <= 0:
        raise ValueError(f"a prior's scale must be above 0, got {factor}")
    return PseudoCounts(
        pseudo.diagonal * factor, pseudo.off_diagonal * factor, pseudo.prior * factor,
        pseudo.pooled * factor,
    )  # fmt: skip
