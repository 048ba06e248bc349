"""Dawid–Skene EM and one-coin on arrays, without a database."""

import numpy as np
import pytest

from labeling.consolidation import DawidSkene, MajorityVote, OneCoin, get_strategy
from labeling.consolidation.base import MISSING
from labeling.consolidation.dawid_skene import WarmStart, dawid_skene, posteriors_from_confusions
from labeling.quality.math.simulation import fixed_overlap_answers, make_crowd


def _accuracy(labels, truth):
    return float((np.asarray(labels) == truth).mean())


def test_em_beats_majority_when_workers_differ_in_skill():
    crowd = make_crowd(n_items=3000, n_workers=30, n_classes=4, seed=3)
    items, workers, answers = fixed_overlap_answers(crowd, per_item=5)
    result = dawid_skene(items, workers, answers, n_items=3000, n_workers=30, n_classes=4)
    counts = np.zeros((3000, 4))
    np.add.at(counts, (items, answers), 1)
    majority = counts.argmax(axis=1)
    assert _accuracy(result.labels, crowd.truth) > _accuracy(majority, crowd.truth) + 0.02


def test_em_recovers_each_workers_confusion_matrix():
    crowd = make_crowd(n_items=4000, n_workers=12, n_classes=3, seed=5)
    items, workers, answers = fixed_overlap_answers(crowd, per_item=6)
    result = dawid_skene(items, workers, answers, n_items=4000, n_workers=12, n_classes=3)
    assert np.abs(result.confusions - crowd.confusions).max() < 0.08
    true_accuracy = np.einsum("wkk->wk", crowd.confusions).mean(axis=1)
    order = np.argsort(true_accuracy)
    estimated = result.worker_accuracy()[order]
    assert np.corrcoef(estimated, true_accuracy[order])[0, 1] > 0.95


def test_posterior_rows_sum_to_one_and_confidence_is_the_chosen_class_probability():
    crowd = make_crowd(n_items=200, n_workers=8, n_classes=5, seed=1)
    items, workers, answers = fixed_overlap_answers(crowd, per_item=3)
    result = dawid_skene(items, workers, answers, n_items=200, n_workers=8, n_classes=5)
    assert result.posteriors.sum(axis=1) == pytest.approx(np.ones(200))
    assert result.confidence == pytest.approx(result.posteriors[np.arange(200), result.labels])
    assert result.confusions.sum(axis=2) == pytest.approx(np.ones((8, 5)))


def test_one_coin_learns_one_accuracy_per_worker():
    crowd = make_crowd(n_items=2000, n_workers=10, n_classes=4, seed=7)
    items, workers, answers = fixed_overlap_answers(crowd, per_item=5)
    result = dawid_skene(
        items, workers, answers, n_items=2000, n_workers=10, n_classes=4, one_coin=True
    )
    diagonal = np.einsum("wkk->wk", result.confusions)
    assert np.ptp(diagonal, axis=1) == pytest.approx(np.zeros(10))
    off = result.confusions[:, 0, 1:]
    assert np.ptp(off, axis=1) == pytest.approx(np.zeros(10))
    assert _accuracy(result.labels, crowd.truth) > 0.85


def test_known_estimates_score_a_single_item_without_em():
    # A reliable worker (0) outweighs two who answer at random (1, 2).
    confusions = np.array(
        [
            [[0.95, 0.05], [0.05, 0.95]],
            [[0.5, 0.5], [0.5, 0.5]],
            [[0.5, 0.5], [0.5, 0.5]],
        ]
    )
    posteriors = posteriors_from_confusions(
        np.array([0, 0, 0]),
        np.array([0, 1, 2]),
        np.array([1, 0, 0]),
        n_items=1,
        confusions=confusions,
        priors=np.array([0.5, 0.5]),
    )
    assert posteriors[0] == pytest.approx([0.05, 0.95])


def test_strategy_interface_handles_missing_slots_and_sparse_worker_ids():
    votes = np.array([[0, 0, 1], [1, 1, MISSING], [MISSING, MISSING, MISSING]])
    workers = np.array([[101, 7, 55], [101, 7, -1], [-1, -1, -1]])
    for strategy in (DawidSkene(), OneCoin()):
        winners, confidence = strategy.consolidate(votes, 2, workers)
        assert winners.tolist() == [0, 1, MISSING]
        assert confidence[2] == 0.0
        assert 0.5 < confidence[0] <= 1.0
    assert get_strategy("dawid_skene").name == "dawid_skene"
    assert get_strategy("one_coin").name == "one_coin"


def test_unanimous_answers_agree_with_majority():
    votes = np.array([[2, 2, 2], [0, 0, 0]])
    workers = np.array([[1, 2, 3], [1, 2, 3]])
    em = DawidSkene().consolidate(votes, 3, workers)[0]
    assert em.tolist() == MajorityVote().consolidate(votes, 3)[0].tolist() == [2, 0]


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        dawid_skene([0], [0], [3], n_items=1, n_workers=1, n_classes=3)
    with pytest.raises(ValueError):
        DawidSkene().consolidate(np.array([[0, 1]]), 2, None)


def test_a_warm_start_after_new_answers_reaches_the_cold_runs_labels_in_fewer_iterations():
    crowd = make_crowd(n_items=5000, n_workers=10, n_classes=4, seed=9)
    items, workers, answers = fixed_overlap_answers(crowd, per_item=6)
    shape = {"n_items": 5000, "n_workers": 10, "n_classes": 4}
    old = np.random.default_rng(0).random(len(items)) >= 0.01  # 1 % of the answers are new
    previous = dawid_skene(items[old], workers[old], answers[old], **shape)
    cold = dawid_skene(items, workers, answers, **shape)
    warm = dawid_skene(
        items, workers, answers, **shape, start=WarmStart(previous.confusions, previous.priors)
    )
    assert warm.iterations < cold.iterations
    assert (warm.labels == cold.labels).all()
    assert np.abs(warm.posteriors - cold.posteriors).max() < 1e-3
    with pytest.raises(ValueError, match="one K x K matrix per worker"):
        dawid_skene(items, workers, answers, **shape,
                    start=WarmStart(previous.confusions[:3], previous.priors))  # fmt: skip
