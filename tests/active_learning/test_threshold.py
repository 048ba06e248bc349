"""Threshold selection on synthetic scores whose right answer is known."""

import numpy as np
import pytest
from scipy.stats import beta

from active_learning.threshold import (
    accuracy_lower_bound,
    accuracy_upper_bound,
    select_threshold,
)


def test_the_lower_bound_of_n_out_of_n_is_alpha_to_the_one_over_n():
    for n in (1, 10, 59, 300):
        assert accuracy_lower_bound(n, n, 0.05) == pytest.approx(0.05 ** (1 / n))


def test_the_bounds_match_the_beta_quantiles_and_the_edge_cases():
    assert accuracy_lower_bound(0, 10, 0.05) == 0.0
    assert accuracy_upper_bound(10, 10, 0.05) == 1.0
    assert accuracy_upper_bound(0, 10, 0.05) == pytest.approx(1 - 0.05 ** (1 / 10))
    assert accuracy_lower_bound(90, 100, 0.05) == pytest.approx(beta.ppf(0.05, 90, 11))
    assert accuracy_upper_bound(90, 100, 0.05) == pytest.approx(beta.ppf(0.95, 91, 10))


def test_59_perfect_answers_clear_095_and_58_do_not():
    # 0.05 ** (1/59) = 0.9505 and 0.05 ** (1/58) = 0.9497: the bound, not the point estimate.
    confidences = np.linspace(0.9, 0.99, 59)
    passed = select_threshold(confidences, np.ones(59, bool), target=0.95)
    assert passed.threshold == pytest.approx(0.9)
    assert passed.covered == 59
    failed = select_threshold(confidences[1:], np.ones(58, bool), target=0.95)
    assert failed.threshold is None
    assert failed.lower_bound == pytest.approx(0.05 ** (1 / 58))


def test_a_perfect_point_estimate_on_few_items_is_not_enough():
    choice = select_threshold(np.full(20, 0.99), np.ones(20, bool), target=0.95)
    assert choice.threshold is None
    assert choice.accuracy is None


def _oracle(confidences, correct, target, alpha):
    """The definition, written out slowly: try every distinct confidence, keep the lowest."""
    best = None
    for candidate in sorted(set(confidences.tolist()), reverse=True):
        chosen = confidences >= candidate
        n, k = int(chosen.sum()), int(correct[chosen].sum())
        bound = beta.ppf(alpha, k, n - k + 1) if k else 0.0
        if bound >= target:
            best = candidate
    return best


def test_a_model_perfect_above_08_and_wrong_below_gets_a_threshold_near_08():
    rng = np.random.default_rng(4)
    high = rng.uniform(0.8, 1.0, 300)
    low = rng.uniform(0.3, 0.8, 300)
    confidences = np.concatenate([high, low])
    correct = np.concatenate([np.ones(300, bool), np.zeros(300, bool)])
    choice = select_threshold(confidences, correct, target=0.95)
    assert choice.threshold == _oracle(confidences, correct, 0.95, 0.05)
    # It may take a few wrong items below 0.8, never so many that the bound fails.
    assert 0.7 < choice.threshold < 0.8
    wrong_taken = int((low >= choice.threshold).sum())
    assert 1 <= wrong_taken <= 15
    assert choice.covered == 300 + wrong_taken
    assert choice.lower_bound >= 0.95
    assert choice.accuracy == pytest.approx(300 / (300 + wrong_taken))


def test_ties_are_taken_together_and_empty_input_gives_no_threshold():
    confidences = np.array([0.9] * 100 + [0.5] * 100)
    correct = np.array([True] * 100 + [True] * 50 + [False] * 50)
    choice = select_threshold(confidences, correct, target=0.9)
    assert choice.threshold == 0.9 and choice.covered == 100
    assert select_threshold(np.zeros(0), np.zeros(0, bool), target=0.9).threshold is None


def test_calibrated_scores_meet_the_target_on_fresh_items_most_of_the_time():
    # P(correct | c) = c for c ~ U(0.5, 1); on fresh items the accuracy above t is (1 + t) / 2.
    rng = np.random.default_rng(7)
    target, misses, draws = 0.9, 0, 200
    for _ in range(draws):
        confidences = rng.uniform(0.5, 1.0, 400)
        correct = rng.uniform(size=400) < confidences
        choice = select_threshold(confidences, correct, target=target, alpha=0.05)
        if choice.threshold is not None and (1 + choice.threshold) / 2 < target:
            misses += 1
    # The bound holds at each threshold with 95%; the scan over thresholds costs a little.
    assert misses / draws <= 0.10
