"""Adaptive overlap's stop rule: posteriors under stored (or default) worker estimates."""

import numpy as np
import pytest

from labeling.quality.math.adaptive import (
    DEFAULT_ACCURACY,
    OverlapPolicy,
    WorkerEstimates,
    default_confusion,
    item_posteriors,
)


def _posterior(answers, workers=None, estimates=None, n_classes=4, n_workers=None):
    workers = np.arange(len(answers)) if workers is None else np.asarray(workers)
    return item_posteriors(
        np.zeros(len(answers), dtype=np.int64), workers, answers, n_items=1,
        n_classes=n_classes, n_workers=n_workers or len(answers), estimates=estimates,
    )[0]  # fmt: skip


def test_without_estimates_two_agreeing_answers_are_not_certain():
    # Default workers (0.7, errors spread over 3 classes): likelihood ratio 7 per answer.
    posterior = _posterior([1, 1])
    assert posterior[1] == pytest.approx(49 / 52)
    assert _posterior([1, 1, 1])[1] == pytest.approx(343 / 346)
    assert _posterior([1, 2])[1] == pytest.approx(0.07 / 0.16)  # two against two others


def test_stored_estimates_decide_and_unknown_workers_are_default():
    n_classes = 4
    sharp = default_confusion(n_classes, 0.99)
    coin = np.full((n_classes, n_classes), 1 / n_classes)
    estimates = WorkerEstimates(np.stack([sharp, coin, coin]), np.array([True, True, False]))
    # The sharp worker outweighs the one at chance; the third is not estimated: default.
    posterior = _posterior([0, 3], workers=[0, 1], estimates=estimates, n_workers=3)
    assert posterior.argmax() == 0 and posterior[0] > 0.98
    with_default = _posterior([2], workers=[2], estimates=estimates, n_workers=3)
    assert with_default[2] == pytest.approx(DEFAULT_ACCURACY)


def test_priors_of_the_estimate_count():
    confusions = np.stack([default_confusion(2, 0.7)])
    tilted = WorkerEstimates(confusions, np.array([True]), np.array([0.9, 0.1]))
    assert _posterior([1], estimates=tilted, n_classes=2)[1] == pytest.approx(
        0.1 * 0.7 / (0.1 * 0.7 + 0.9 * 0.3)
    )


def test_policy_stops_at_target_and_at_the_maximum():
    policy = OverlapPolicy(min_workers=2, max_workers=4, target_confidence=0.95)
    answers = np.array([1, 2, 2, 3, 4])
    confidence = np.array([0.99, 0.94, 0.96, 0.5, 0.5])
    assert policy.needs_more(answers, confidence).tolist() == [True, True, False, True, False]
    with pytest.raises(ValueError, match="min_workers"):
        OverlapPolicy(min_workers=3, max_workers=2, target_confidence=0.9)
