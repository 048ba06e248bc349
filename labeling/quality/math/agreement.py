"""Agreement between workers on classification answers, as pure functions over arrays.

Answers are flat arrays ``items`` and ``answers`` (dense indices). Items with fewer than two
answers carry no information about agreement and are left out of every measure.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.dawid_skene import vote_counts


def _pairable_counts(items, answers, n_items: int, n_classes: int):
    items = np.asarray(items, dtype=np.int64)
    answers = np.asarray(answers, dtype=np.int64)
    counts = vote_counts(items, answers, n_items, n_classes)
    per_item = counts.sum(axis=1)
    keep = per_item >= 2
    return counts[keep], per_item[keep]


def krippendorff_alpha_nominal(items, answers, *, n_items: int, n_classes: int) -> float:
    """Krippendorff's alpha for nominal data (any number of answers per item).

    Built from the coincidence matrix: each item adds ``n_c n_k / (m - 1)`` for every pair of
    classes (minus the self-pairs on the diagonal). NaN when nothing is pairable or every
    answer is the same class (no expected disagreement).
    """
    counts, per_item = _pairable_counts(items, answers, n_items, n_classes)
    if counts.size == 0:
        return float("nan")
    scaled = counts / (per_item - 1)[:, None]
    coincidence = np.einsum("uk,ul->kl", scaled, counts)
    coincidence -= np.diag(scaled.sum(axis=0))  # an answer is not paired with itself
    marginals = coincidence.sum(axis=1)
    total = marginals.sum()
    expected = total * total - (marginals**2).sum()
    if expected <= 0:
        return float("nan")
    observed = total - np.trace(coincidence)
    return float(1.0 - (total - 1.0) * observed / expected)


def fleiss_kappa(items, answers, *, n_items: int, n_classes: int) -> float:
    """Fleiss' kappa, generalised to items with different numbers of answers (≥ 2)."""
    counts, per_item = _pairable_counts(items, answers, n_items, n_classes)
    if counts.size == 0:
        return float("nan")
    item_agreement = ((counts**2).sum(axis=1) - per_item) / (per_item * (per_item - 1))
    observed = item_agreement.mean()
    shares = counts.sum(axis=0) / per_item.sum()
    chance = (shares**2).sum()
    if chance >= 1.0:
        return float("nan")
    return float((observed - chance) / (1.0 - chance))


def per_label_agreement(items, answers, *, n_items: int, n_classes: int) -> np.ndarray:
    """Specific agreement per class: of the pairs of answers on one item where one says k,
    the share where the other says k too. NaN for a class nobody chose on a pairable item."""
    counts, per_item = _pairable_counts(items, answers, n_items, n_classes)
    agreeing = (counts * (counts - 1)).sum(axis=0)
    involving = (counts * (per_item[:, None] - 1)).sum(axis=0)
    return np.divide(agreeing, involving, out=np.full(n_classes, np.nan), where=involving > 0)


@dataclass(frozen=True)
class WorkerAgreement:
    answers: np.ndarray  # (n_workers,) answers counted
    agreeing: np.ndarray  # (n_workers,) of them equal to the consolidated label
    share: np.ndarray  # (n_workers,) agreeing / answers, NaN without answers


def per_worker_agreement(items, workers, answers, consolidated, *, n_workers: int):
    """How often each worker's answer equals the item's consolidated label.

    ``consolidated`` holds a class per item, negative where the item has no label yet; such
    answers are not counted.
    """
    items = np.asarray(items, dtype=np.int64)
    workers = np.asarray(workers, dtype=np.int64)
    answers = np.asarray(answers, dtype=np.int64)
    consolidated = np.asarray(consolidated, dtype=np.int64)
    target = consolidated[items]
    counted = target >= 0
    total = np.bincount(workers[counted], minlength=n_workers)
    agree = np.bincount(
        workers[counted], weights=(answers[counted] == target[counted]), minlength=n_workers
    )
    share = np.divide(agree, total, out=np.full(n_workers, np.nan), where=total > 0)
    return WorkerAgreement(total, agree.astype(np.int64), share)
