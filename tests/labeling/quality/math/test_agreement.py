"""Agreement measures against direct pair-by-pair computations."""

import itertools

import numpy as np
import pytest

from labeling.quality.math.agreement import (
    fleiss_kappa,
    krippendorff_alpha_nominal,
    per_label_agreement,
    per_worker_agreement,
)


def _alpha_by_pairs(by_item: list[list[int]], n_classes: int) -> float:
    """Krippendorff's alpha straight from its definition: loop over ordered pairs."""
    coincidence = np.zeros((n_classes, n_classes))
    for values in by_item:
        if len(values) < 2:
            continue
        for a, b in itertools.permutations(range(len(values)), 2):
            coincidence[values[a], values[b]] += 1 / (len(values) - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    observed = coincidence.sum() - np.trace(coincidence)
    expected = (np.outer(n_c, n_c).sum() - (n_c**2).sum()) / (n - 1)
    return 1 - observed / expected


BY_ITEM = [[0, 0, 1], [1, 1, 1, 1], [2, 0], [2, 2, 2], [1], [0, 1, 2], [0, 0]]


def _flat(by_item):
    items = np.array([i for i, values in enumerate(by_item) for _ in values])
    answers = np.array([v for values in by_item for v in values])
    return items, answers


def test_alpha_matches_the_pairwise_definition():
    items, answers = _flat(BY_ITEM)
    alpha = krippendorff_alpha_nominal(items, answers, n_items=len(BY_ITEM), n_classes=3)
    assert alpha == pytest.approx(_alpha_by_pairs(BY_ITEM, 3))


def test_perfect_agreement_gives_one_and_random_answers_give_about_zero():
    items, answers = _flat([[0, 0], [1, 1, 1], [2, 2]])
    assert krippendorff_alpha_nominal(items, answers, n_items=3, n_classes=3) == 1.0
    assert fleiss_kappa(items, answers, n_items=3, n_classes=3) == 1.0
    rng = np.random.default_rng(0)
    items = np.repeat(np.arange(5000), 4)
    answers = rng.integers(0, 3, size=items.size)
    assert abs(krippendorff_alpha_nominal(items, answers, n_items=5000, n_classes=3)) < 0.02
    assert abs(fleiss_kappa(items, answers, n_items=5000, n_classes=3)) < 0.02


def test_fleiss_kappa_on_a_worked_example():
    # Fleiss (1971)-style table: 10 items, 5 raters each, 3 classes; computed by hand.
    table = np.array(
        [[5, 0, 0], [2, 3, 0], [0, 5, 0], [1, 1, 3], [0, 0, 5],
         [4, 1, 0], [3, 2, 0], [0, 4, 1], [0, 0, 5], [5, 0, 0]]
    )  # fmt: skip
    items = np.repeat(np.arange(10), 5)
    answers = np.concatenate([np.repeat(np.arange(3), row) for row in table])
    p_items = ((table**2).sum(axis=1) - 5) / 20
    shares = table.sum(axis=0) / 50
    expected = (p_items.mean() - (shares**2).sum()) / (1 - (shares**2).sum())
    assert fleiss_kappa(items, answers, n_items=10, n_classes=3) == pytest.approx(expected)


def test_per_label_agreement_is_specific_agreement():
    items, answers = _flat([[0, 0, 1], [1, 1], [0, 2]])
    agreement = per_label_agreement(items, answers, n_items=3, n_classes=4)
    # label 0: agreeing ordered pairs 2 (item 0), involving 2*2 + 1*1 = 5
    assert agreement[0] == pytest.approx(2 / 5)
    assert agreement[1] == pytest.approx(2 / 4)
    assert agreement[2] == 0.0
    assert np.isnan(agreement[3])


def test_per_worker_agreement_with_the_consolidated_label():
    items = np.array([0, 0, 1, 1, 2])
    workers = np.array([0, 1, 0, 1, 1])
    answers = np.array([1, 1, 2, 0, 1])
    consolidated = np.array([1, 2, -1])
    result = per_worker_agreement(items, workers, answers, consolidated, n_workers=3)
    assert result.answers.tolist() == [2, 2, 0]
    assert result.agreeing.tolist() == [2, 1, 0]
    assert result.share[:2].tolist() == [1.0, 0.5]
    assert np.isnan(result.share[2])
