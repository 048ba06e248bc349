"""Multi-label Dawid–Skene: per label, each worker's sensitivity and specificity."""

import numpy as np
import pytest

from labeling.consolidation.multilabel_em import multilabel_dawid_skene


def _crowd(seed=0, n_items=600, n_labels=4):
    """Two reliable workers (0.95 on every label) and four noisy ones: at chance (0.5) on
    labels 0 and 1, good (0.9) on labels 2 and 3. Every worker answers every item."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n_items, n_labels)) < 0.3
    accuracy = np.array([[0.95] * 4, [0.95] * 4] + [[0.5, 0.5, 0.9, 0.9]] * 4)
    n_workers = len(accuracy)
    items = np.repeat(np.arange(n_items), n_workers)
    workers = np.tile(np.arange(n_workers), n_items)
    right = rng.random((len(items), n_labels)) < accuracy[workers]
    chosen = np.where(right, truth[items], ~truth[items])
    return truth, items, workers, chosen, n_workers


def _majority(items, chosen, n_items):
    yes = np.zeros((n_items, chosen.shape[1]))
    np.add.at(yes, items, chosen)
    return yes / np.bincount(items, minlength=n_items)[:, None] > 0.5


def test_a_reliable_minority_beats_an_unreliable_majority():
    truth, items, workers, chosen, n_workers = _crowd()
    n_items = len(truth)
    result = multilabel_dawid_skene(items, workers, chosen, n_items=n_items, n_workers=n_workers)
    majority = _majority(items, chosen, n_items)
    em_right = (result.selected == truth).mean(axis=0)
    majority_right = (majority == truth).mean(axis=0)
    # Labels 0 and 1: four coin-flippers against two reliable workers. The best possible is
    # about 0.95 (when the two reliable ones disagree, nobody else knows); majority gets 0.83.
    assert (em_right[:2] > majority_right[:2] + 0.08).all()
    assert (em_right[:2] > 0.92).all()
    assert (em_right >= majority_right - 0.005).all()  # never worse where the crowd is good
    reliability = result.reliability
    assert (reliability.sensitivity[:2] > 0.85).all() and (reliability.specificity[:2] > 0.9).all()
    assert np.abs(reliability.sensitivity[2:, :2] - 0.5).max() < 0.12
    assert (reliability.specificity[2:, 2:] > 0.85).all()
    assert reliability.priors == pytest.approx(truth.mean(axis=0), abs=0.05)
    # The posterior is each decision's confidence: the sure ones are nearly all right.
    sure = np.maximum(result.posteriors, 1 - result.posteriors) > 0.99
    assert (result.selected[sure] == truth[sure]).mean() > 0.99


def test_warm_start_from_the_previous_estimates_converges_faster_to_the_same_labels():
    truth, items, workers, chosen, n_workers = _crowd(seed=1)
    n_items = len(truth)
    shape = {"n_items": n_items, "n_workers": n_workers, "max_iterations": 1000}
    # The previous run saw all but the last 1 % of the answers.
    seen = len(items) - len(items) // 100
    first = multilabel_dawid_skene(items[:seen], workers[:seen], chosen[:seen], **shape)
    cold = multilabel_dawid_skene(items, workers, chosen, **shape)
    warm = multilabel_dawid_skene(items, workers, chosen, start=first.reliability, **shape)
    assert cold.iterations < 1000  # converged
    assert warm.iterations < cold.iterations
    assert (warm.selected == cold.selected).all()
    assert np.abs(warm.posteriors - cold.posteriors).max() < 1e-3


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="one row per answer"):
        multilabel_dawid_skene([0, 1], [0, 0], [[1, 0]], n_items=2, n_workers=1)
