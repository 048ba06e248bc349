"""The class-aware score: fitted on out-of-sample predictions, it ranks an easy class's items
above a hard class's at the same confidence, and the threshold picked on it keeps the
promise on fresh items as often as the raw confidence does."""

import numpy as np
import pytest

from active_learning.calibration import MIN_CALIBRATION_PAIRS, class_calibration_fit
from active_learning.threshold import select_threshold

CLASSES = 10
# How often a prediction of each class is right at a given confidence: the model is as sure
# of its hard classes (shirts, pullovers, coats) as of its easy ones, and wrong more often.
HARDNESS = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.8, 1.0])


def _predictions(rng, size: int):
    """A model's predicted class, confidence, and whether it is right (known here)."""
    predicted = rng.integers(0, CLASSES, size)
    confidence = 1 - 0.5 * rng.uniform(size=size) ** 3  # most near 1, as a CNN's are
    # Easy classes: right with probability the confidence; hard ones: up to 0.25 less.
    chance = np.clip(confidence - 0.25 * HARDNESS[predicted], 0, 1)
    correct = rng.uniform(size=size) < chance
    return predicted, confidence, correct, chance


def test_an_easy_class_scores_above_a_hard_one_at_the_same_confidence():
    rng = np.random.default_rng(3)
    predicted, confidence, correct, _ = _predictions(rng, 600)
    calibration = class_calibration_fit(
        predicted=predicted, confidence=confidence, correct=correct, classes=CLASSES
    )
    assert calibration is not None and calibration.pairs == 600
    sure = np.full(2, 0.97)
    easy, hard = calibration.score(np.array([0, 9]), sure)
    assert easy > 0.9 and hard < 0.8
    # Within a class the score still rises with the confidence.
    low, high = calibration.score(np.array([0, 0]), np.array([0.6, 0.99]))
    assert low < high


def test_too_few_or_uninformative_predictions_give_no_calibration():
    rng = np.random.default_rng(0)
    predicted, confidence, correct, _ = _predictions(rng, MIN_CALIBRATION_PAIRS - 1)
    assert (
        class_calibration_fit(
            predicted=predicted, confidence=confidence, correct=correct, classes=CLASSES
        )
        is None
    )
    predicted, confidence, _, _ = _predictions(rng, 100)
    all_right = np.ones(100, bool)
    assert (
        class_calibration_fit(
            predicted=predicted, confidence=confidence, correct=all_right, classes=CLASSES
        )
        is None
    )


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        class_calibration_fit(
            predicted=np.zeros(40, int), confidence=np.ones(39), correct=np.ones(40), classes=3
        )
    with pytest.raises(ValueError, match="0 … 2"):
        class_calibration_fit(
            predicted=np.full(40, 3), confidence=np.ones(40), correct=np.ones(40), classes=3
        )


def test_thresholds_on_the_calibrated_score_keep_the_promise_and_label_more():
    """200 simulated rounds: a calibration fitted on 300 out-of-sample predictions (none of
    the slice's), a random slice of 400, 20,000 fresh items. The threshold on the calibrated
    score misses the target on the fresh items no more often than on the raw confidence
    (beyond noise; both a little above alpha: the scan over thresholds) and covers more."""
    target, draws = 0.95, 200
    missed = {"confidence": 0, "calibrated": 0}
    share = {"confidence": [], "calibrated": []}
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        seen, seen_confidence, seen_correct, _ = _predictions(rng, 300)
        calibration = class_calibration_fit(
            predicted=seen, confidence=seen_confidence, correct=seen_correct, classes=CLASSES
        )
        assert calibration is not None
        predicted, confidence, correct, chance = _predictions(rng, 400 + 20_000)
        scores = {
            "confidence": confidence,
            "calibrated": calibration.score(predicted, confidence),
        }
        for name, score in scores.items():
            choice = select_threshold(score[:400], correct[:400], target=target, alpha=0.05)
            taken = np.zeros(len(score), bool)
            if choice.threshold is not None:
                taken = score >= choice.threshold
            fresh = taken[400:]
            share[name].append(fresh.mean())
            # The true accuracy of the fresh items taken (their chance of being right).
            if fresh.any() and chance[400:][fresh].mean() < target:
                missed[name] += 1
    assert missed["calibrated"] / draws <= missed["confidence"] / draws + 0.02
    assert missed["calibrated"] / draws <= 0.10
    assert np.mean(share["calibrated"]) > np.mean(share["confidence"]) + 0.05
