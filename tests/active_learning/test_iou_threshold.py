"""The mean-IoU bound and threshold of box and mask jobs, on draws whose true mean is known."""

import numpy as np
import pytest

from active_learning.iou_threshold import (
    mean_lower_bound,
    mean_upper_bound,
    select_iou_threshold,
)


def _draw(rng, n):
    """IoUs like a detector's: mostly near 0.85, one in ten a miss (0). True mean 0.7695."""
    good = rng.beta(17, 3, n)
    return np.where(rng.random(n) < 0.1, 0.0, good)


TRUE_MEAN = 0.9 * 17 / 20


def test_the_bound_covers_the_true_mean_at_least_1_minus_alpha_of_the_time():
    rng = np.random.default_rng(0)
    for n in (10, 50, 300):
        below = [mean_lower_bound(_draw(rng, n), 0.05) <= TRUE_MEAN for _ in range(2000)]
        upper = [mean_upper_bound(_draw(rng, n), 0.05) >= TRUE_MEAN for _ in range(2000)]
        assert np.mean(below) >= 0.95
        assert np.mean(upper) >= 0.95


def test_the_bound_tightens_with_more_items_and_is_at_most_the_mean():
    rng = np.random.default_rng(1)
    values = _draw(rng, 2000)
    gaps = [values[:n].mean() - mean_lower_bound(values[:n], 0.05) for n in (20, 200, 2000)]
    assert gaps[0] > gaps[1] > gaps[2] > 0
    assert gaps[2] < 0.03


def test_concentrated_values_get_the_bernstein_bound_tighter_than_hoeffding():
    values = np.full(400, 0.9)
    hoeffding = 0.9 - np.sqrt(np.log(1 / 0.025) / 800)
    assert mean_lower_bound(values, 0.05) > hoeffding + 0.03
    assert mean_lower_bound(np.zeros(0), 0.05) == 0.0


def test_a_model_good_above_05_and_bad_below_gets_a_threshold_a_little_below_05():
    # The mean over the covered items may take some bad ones while its bound stays ≥ 0.7.
    rng = np.random.default_rng(2)
    scores = rng.uniform(0, 1, 600)
    ious = np.where(scores >= 0.5, rng.uniform(0.8, 1.0, 600), rng.uniform(0.0, 0.4, 600))
    choice = select_iou_threshold(scores, ious, target=0.7)
    assert choice.threshold is not None
    assert 0.3 <= choice.threshold <= 0.5
    covered = ious[scores >= choice.threshold]
    assert choice.covered == len(covered)
    assert choice.mean_iou == pytest.approx(covered.mean())
    assert choice.lower_bound >= 0.7
    assert choice.lower_bound <= choice.mean_iou
    assert choice.validation_size == 600


def test_nothing_passes_on_too_few_items_or_a_score_that_says_nothing():
    perfect_but_few = select_iou_threshold(np.linspace(0.5, 1, 8), np.ones(8), target=0.6)
    assert perfect_but_few.threshold is None
    assert perfect_but_few.covered == 0
    rng = np.random.default_rng(3)
    scores = rng.uniform(0, 1, 400)
    random_ious = rng.uniform(0, 1, 400)  # mean 0.5, unrelated to the score
    assert select_iou_threshold(scores, random_ious, target=0.6).threshold is None
    assert select_iou_threshold(np.zeros(0), np.zeros(0), target=0.6).threshold is None


def test_ties_are_taken_together():
    scores = np.array([0.9] * 100 + [0.5] * 100)
    ious = np.array([0.95] * 100 + [0.1] * 100)
    choice = select_iou_threshold(scores, ious, target=0.8)
    assert choice.threshold == 0.9
    assert choice.covered == 100
    assert choice.correct == 100
