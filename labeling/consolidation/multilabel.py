"""Multi-label consolidation: every class is its own vote.

``multilabel_vote`` keeps a class when more than ``threshold`` of the item's workers chose
it, with the confidence of each class's decision (the share agreeing with it). The image
types call ``consolidate_multilabel``, which keeps a class at ``min_share`` or more (a tie
among an even number of workers keeps the class) and returns the kept indices.

With ``reliability`` (the answering workers' per-label sensitivity and specificity and the
job's label priors, as the multi-label EM of ``multilabel_em.py`` estimated them; one row per
answer) each class's share is replaced by its **posterior** P(present): a reliable minority
can outvote an unreliable majority, and the posterior is the class's confidence.
"""

import numpy as np

from labeling.consolidation.multilabel_em import LabelReliability, label_posteriors

MULTILABEL_VOTE = "multilabel-vote"
MULTILABEL_EM = "multilabel-dawid-skene"
DEFAULT_MIN_SHARE = 0.5


def _checked(chosen: np.ndarray) -> np.ndarray:
    chosen = np.asarray(chosen, dtype=bool)
    if chosen.ndim != 2:
        raise ValueError("chosen must be a 2-D array (workers x classes)")
    return chosen


def item_label_posterior(chosen: np.ndarray, reliability: LabelReliability) -> np.ndarray:
    """One item's P(present) per class; ``reliability`` has one row per answer."""
    chosen = _checked(chosen)
    if reliability.sensitivity.shape != chosen.shape:
        raise ValueError("reliability needs one row per answer and one column per class")
    return label_posteriors(
        np.zeros(chosen.shape[0], dtype=np.int64), chosen, reliability.sensitivity,
        reliability.specificity, reliability.priors, n_items=1,
    )[0]  # fmt: skip


def decide(share: np.ndarray, *, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Classes kept (share over ``threshold``) and each decision's confidence."""
    kept = share > threshold
    return kept, np.where(kept, share, 1.0 - share)


def multilabel_vote(
    chosen: np.ndarray, *, threshold: float = 0.5, reliability: LabelReliability | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``chosen`` is a boolean ``(n_workers, n_classes)`` array of one item's answers.

    Returns the classes kept (boolean per class), each class's share of votes (its posterior
    with ``reliability``), and the confidence of each class's decision, in [0, 1].
    """
    chosen = _checked(chosen)
    if chosen.shape[0] == 0:
        empty = np.zeros(chosen.shape[1])
        return empty.astype(bool), empty, empty
    share = (
        chosen.mean(axis=0) if reliability is None else item_label_posterior(chosen, reliability)
    )
    kept, confidence = decide(share, threshold=threshold)
    return kept, share, confidence


def consolidate_multilabel(
    chosen: np.ndarray,
    *,
    min_share: float = DEFAULT_MIN_SHARE,
    reliability: LabelReliability | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The kept class indices (at least ``min_share`` of the workers picked them, or a
    posterior of at least ``min_share`` with ``reliability``; with no worker, none is) and
    the share (posterior) of each class."""
    chosen = _checked(chosen)
    if chosen.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(chosen.shape[1])
    if reliability is None:
        shares = chosen.mean(axis=0)
    else:
        shares = item_label_posterior(chosen, reliability)
    return np.flatnonzero(shares >= min_share - 1e-9), shares
