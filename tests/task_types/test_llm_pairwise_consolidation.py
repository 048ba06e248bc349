"""Crowd-BT (labeling/consolidation/bradley_terry.py) on simulated annotators: pure numpy."""

import numpy as np
import pytest

from labeling.consolidation.bradley_terry import FIRST, SECOND, TIE, crowd_bt, item_preference, vote


def simulated_crowd(*, n_items=400, per_item=5, good=8, spammers=8, adversarial=4, seed=7):
    """Each item's truth (1: A better), and per answer (item, worker, outcome)."""
    rng = np.random.default_rng(seed)
    eta = np.array([0.85] * good + [0.5] * spammers + [0.15] * adversarial)
    truth = rng.integers(0, 2, n_items).astype(np.float64)
    items, workers, outcomes = [], [], []
    for item in range(n_items):
        for worker in rng.choice(len(eta), per_item, replace=False):
            right = rng.random() < eta[worker]
            items.append(item)
            workers.append(worker)
            outcomes.append(truth[item] if right else 1.0 - truth[item])
    return truth, eta, np.array(items), np.array(workers), np.array(outcomes)


def test_the_reliability_model_beats_majority_vote_with_spammers_and_adversaries():
    truth, eta, items, workers, outcomes = simulated_crowd()
    n_items, n_workers = len(truth), len(eta)
    share, _ = vote(items, outcomes, n_items)
    majority_accuracy = np.mean((share > 0.5) == (truth == 1))
    fit = crowd_bt(items, workers, outcomes, n_items=n_items, n_workers=n_workers)
    model_accuracy = np.mean((fit.p_first > 0.5) == (truth == 1))
    assert model_accuracy >= majority_accuracy + 0.08, (majority_accuracy, model_accuracy)
    assert model_accuracy > 0.9
    # The estimates find who is who: reliable, spammers near a coin, adversaries flipped.
    assert np.all(fit.eta[:8] > 0.75)
    assert np.all(np.abs(fit.eta[8:16] - 0.5) < 0.15)
    assert np.all(fit.eta[16:] < 0.25)
    assert 1 <= fit.iterations < 100


def test_confidence_is_calibrated_roughly():
    truth, eta, items, workers, outcomes = simulated_crowd(seed=11)
    fit = crowd_bt(items, workers, outcomes, n_items=len(truth), n_workers=len(eta))
    confidence = np.maximum(fit.p_first, 1 - fit.p_first)
    correct = (fit.p_first > 0.5) == (truth == 1)
    sure = confidence > 0.95
    assert sure.sum() > 100 and correct[sure].mean() > 0.93
    assert correct[~sure].mean() < correct[sure].mean()


def test_ties_count_in_the_tie_share_not_in_reliability():
    items = np.array([0, 0, 0, 1, 1, 1])
    workers = np.array([0, 1, 2, 0, 1, 2])
    outcomes = np.array([TIE, TIE, FIRST, SECOND, SECOND, SECOND])
    fit = crowd_bt(items, workers, outcomes, n_items=2, n_workers=3)
    assert fit.tie_share.tolist() == [pytest.approx(2 / 3), 0.0]
    assert fit.p_first[1] < 0.1


def test_item_preference_majority_reliability_and_ties():
    assert item_preference([FIRST, FIRST, SECOND]) == (
        "A",
        pytest.approx(2 / 3),
        pytest.approx(2 / 3),
    )
    assert item_preference([TIE, TIE, FIRST])[0] == "tie"
    assert item_preference([FIRST, SECOND])[0] == "tie"  # cancels out
    assert item_preference([]) == ("tie", 0.0, 0.5)
    # One reliable worker outweighs two who are coins.
    preference, confidence, _ = item_preference([SECOND, FIRST, FIRST], [0.95, 0.52, 0.5])
    assert preference == "B" and confidence > 0.9
    # An adversary's answer counts flipped.
    assert item_preference([FIRST], [0.1])[0] == "B"


def test_bad_outcomes_are_refused():
    with pytest.raises(ValueError, match="outcome"):
        crowd_bt(np.array([0]), np.array([0]), np.array([2.0]), n_items=1, n_workers=1)
