"""Threshold selection on synthetic scores whose right answer is known."""

import numpy as np
import pytest
from scipy.stats import beta

from active_learning.threshold import (
    accuracy_lower_bound,
    accuracy_upper_bound,
    alpha_for_round,
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


def test_carried_validation_items_count_in_the_bound_of_the_auto_labels_as_a_whole():
    # 30 perfect new items alone cannot clear 0.95 (59 are needed) ...
    confidences = np.linspace(0.6, 0.99, 30)
    alone = select_threshold(confidences, np.ones(30, bool), target=0.95)
    assert alone.threshold is None
    # ... but beside 120 items earlier auto-labels cover, 119 of them right, they can.
    joint = select_threshold(
        confidences, np.ones(30, bool), target=0.95, carried_covered=120, carried_correct=119
    )
    assert joint.threshold == pytest.approx(0.6)
    assert (joint.covered, joint.correct) == (150, 149)
    assert (joint.carried_covered, joint.carried_correct) == (120, 119)
    assert joint.validation_size == 150
    assert joint.lower_bound == pytest.approx(beta.ppf(0.05, 149, 2))


def test_new_items_may_not_pull_the_whole_below_the_target():
    # Earlier labels are right on 150 of 152; new items right on half: only the surest few
    # may join before the bound of the whole falls under 0.95.
    confidences = np.linspace(0.5, 0.99, 100)
    correct = np.zeros(100, bool)
    correct[-10:] = True  # the ten surest are right, the rest wrong
    choice = select_threshold(
        confidences, correct, target=0.95, carried_covered=152, carried_correct=150
    )
    assert choice.threshold is not None
    taken = confidences >= choice.threshold
    assert taken.sum() == choice.covered - 152
    assert choice.lower_bound >= 0.95
    assert choice.correct / choice.covered >= 0.95
    # When even the carried items fail the bound, nothing new is taken.
    none = select_threshold(
        confidences, correct, target=0.95, carried_covered=100, carried_correct=90
    )
    assert none.threshold is None and none.validation_size == 200


def test_carried_counts_that_cannot_be_are_refused():
    with pytest.raises(ValueError, match="carried_correct"):
        select_threshold(
            np.ones(3), np.ones(3, bool), target=0.9, carried_covered=2, carried_correct=3
        )
    with pytest.raises(ValueError, match="carried_correct"):
        select_threshold(np.ones(3), np.ones(3, bool), target=0.9, carried_correct=-1)


def _three_rounds(rng, *, whole: bool, slice_size: int = 400, fresh_size: int = 20_000):
    """Three rounds on one random validation slice. Round r's model is sure of an item of
    difficulty x in proportion to 1 − q_r·x and right on it with probability 1 − 0.3·q_r·x
    (later models are better on the hard items). Returns the accuracy of the union of the
    auto-labels on fresh items and their share."""
    size = slice_size + fresh_size
    difficulty = rng.uniform(size=size)
    taken, right = np.zeros(size, bool), np.zeros(size, bool)
    slice_, fresh = np.arange(slice_size), np.arange(slice_size, size)
    rounds_labeling = 0
    for quality in (1.0, 0.6, 0.35):
        confidence = 1 - quality * difficulty + rng.normal(0, 0.05, size)
        correct = rng.uniform(size=size) < 1 - 0.3 * quality * difficulty
        judging = slice_[~taken[slice_]]
        carried = (
            {
                "carried_covered": int(taken[slice_].sum()),
                "carried_correct": int((taken & right)[slice_].sum()),
                "alpha": alpha_for_round(0.05, rounds_labeling),
            }
            if whole
            else {"alpha": 0.05}
        )
        choice = select_threshold(confidence[judging], correct[judging], target=0.95, **carried)
        if choice.threshold is None:
            continue
        rounds_labeling += 1
        new = ~taken & (confidence >= choice.threshold)
        right |= new & correct
        taken |= new
    if not taken[fresh].any():
        return 1.0, 0.0
    return float(right[fresh][taken[fresh]].mean()), float(taken[fresh].mean())


def test_rounds_judged_as_a_whole_miss_the_target_no_more_often_than_rounds_judged_alone():
    """The same simulated jobs, judged both ways: each round on the unmarked items alone,
    or the whole (earlier labels carried) at alpha / k³. Judging the whole must not miss
    the target on fresh items more often (beyond noise), and must label more."""
    draws = 200
    alone = [_three_rounds(np.random.default_rng(seed), whole=False) for seed in range(draws)]
    whole = [_three_rounds(np.random.default_rng(seed), whole=True) for seed in range(draws)]
    missed_alone = np.mean([accuracy < 0.95 for accuracy, _ in alone])
    missed_whole = np.mean([accuracy < 0.95 for accuracy, _ in whole])
    # Both exceed alpha a little: the scan over thresholds (the single-round test above).
    assert missed_whole <= missed_alone + 0.02
    assert missed_whole <= 0.15
    assert np.mean([share for _, share in whole]) > np.mean([share for _, share in alone]) + 0.01


def test_the_level_falls_with_the_cube_of_the_rounds_judged():
    assert alpha_for_round(0.05, 0) == 0.05
    assert alpha_for_round(0.05, 1) == pytest.approx(0.05 / 8)
    assert alpha_for_round(0.05, 3) == pytest.approx(0.05 / 64)
    with pytest.raises(ValueError, match="earlier_rounds"):
        alpha_for_round(0.05, -1)
