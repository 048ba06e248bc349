"""Dawid–Skene EM on sparse crowds: 3 answers per item, most workers with a handful of answers."""

import numpy as np
import pytest

from labeling.consolidation.dawid_skene import (
    DEFAULT_PSEUDO_COUNTS,
    PseudoCounts,
    WarmStart,
    dawid_skene,
    vote_counts,
)
from labeling.quality.math.simulation import lopsided_answers, make_crowd

MAXIMUM_LIKELIHOOD = PseudoCounts(1e-9, 1e-9, 1e-9)
HIERARCHICAL = PseudoCounts(pooled=4.0)


@pytest.fixture(scope="module")
def sparse_crowd():
    crowd = make_crowd(n_items=1500, n_workers=500, n_classes=4, seed=5, mean_accuracy=0.65)
    items, workers, answers = lopsided_answers(crowd, per_item=3, seed=5, spread=1.5)
    return crowd, items, workers, answers, {"n_items": 1500, "n_workers": 500, "n_classes": 4}


def _accuracy(result, crowd) -> float:
    return float((result.labels == crowd.truth).mean())


def test_the_crowd_is_sparse_as_real_ones_are(sparse_crowd):
    _, _, workers, _, shape = sparse_crowd
    answered = np.bincount(workers, minlength=shape["n_workers"])
    assert np.median(answered[answered > 0]) <= 5  # most give a handful
    assert answered.max() >= 60  # a few give many


@pytest.mark.parametrize("pseudo", [DEFAULT_PSEUDO_COUNTS, HIERARCHICAL], ids=["default", "pooled"])
def test_em_beats_majority_vote_and_unsmoothed_em_on_a_sparse_crowd(sparse_crowd, pseudo):
    crowd, items, workers, answers, shape = sparse_crowd
    majority = vote_counts(items, answers, shape["n_items"], shape["n_classes"]).argmax(axis=1)
    majority_accuracy = float((majority == crowd.truth).mean())
    em = _accuracy(dawid_skene(items, workers, answers, **shape, pseudo=pseudo), crowd)
    unsmoothed = dawid_skene(items, workers, answers, **shape, pseudo=MAXIMUM_LIKELIHOOD)
    # Without pseudo-counts a worker seen twice gets a certain 0/1 matrix, and EM falls below
    # majority vote; with them it is above both.
    assert _accuracy(unsmoothed, crowd) < majority_accuracy
    assert em > majority_accuracy + 0.02
    assert em > _accuracy(unsmoothed, crowd) + 0.05


def test_the_hierarchical_prior_adds_to_the_default_on_a_sparse_crowd(sparse_crowd):
    crowd, items, workers, answers, shape = sparse_crowd
    default = _accuracy(dawid_skene(items, workers, answers, **shape), crowd)
    pooled = _accuracy(dawid_skene(items, workers, answers, **shape, pseudo=HIERARCHICAL), crowd)
    assert pooled >= default


@pytest.mark.parametrize("pseudo", [DEFAULT_PSEUDO_COUNTS, HIERARCHICAL], ids=["default", "pooled"])
def test_a_worker_with_two_answers_gets_no_extreme_confusion_matrix(sparse_crowd, pseudo):
    _, items, workers, answers, shape = sparse_crowd
    result = dawid_skene(items, workers, answers, **shape, pseudo=pseudo)
    answered = np.bincount(workers, minlength=shape["n_workers"])
    two = np.flatnonzero(answered == 2)
    assert len(two) >= 10
    matrices = result.confusions[two]
    assert matrices.min() > 0.05 and matrices.max() < 0.8
    assert np.allclose(matrices.sum(axis=2), 1.0)
    # ... whereas unsmoothed EM puts a certain 1 in the rows they answered.
    unsmoothed = dawid_skene(items, workers, answers, **shape, pseudo=MAXIMUM_LIKELIHOOD)
    assert unsmoothed.confusions[two].max() > 0.99


def test_the_pooled_prior_pulls_a_few_answer_worker_toward_the_crowds_error_pattern():
    # Every busy worker mistakes class 1 for class 2; a worker seen twice (never on a 1)
    # inherits that pattern in their row for 1 instead of spreading errors evenly.
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 600)
    items = np.repeat(np.arange(600), 3)
    workers = np.tile([0, 1, 2], 600)
    answers = np.where(truth[items] == 1, 2, truth[items])
    answers = np.where(rng.random(len(items)) < 0.8, truth[items], answers)
    rare_items = np.flatnonzero(truth != 1)[:2]
    items = np.concatenate([items, rare_items])
    workers = np.concatenate([workers, [3, 3]])
    answers = np.concatenate([answers, truth[rare_items]])
    shape = {"n_items": 600, "n_workers": 4, "n_classes": 3}
    pooled = dawid_skene(items, workers, answers, **shape, pseudo=HIERARCHICAL).confusions[3]
    default = dawid_skene(items, workers, answers, **shape).confusions[3]
    assert pooled[1, 2] > 1.3 * pooled[1, 0]
    assert abs(default[1, 2] - default[1, 0]) < 0.01  # the default prior knows no pattern


@pytest.mark.parametrize("pseudo", [DEFAULT_PSEUDO_COUNTS, HIERARCHICAL], ids=["default", "pooled"])
def test_a_warm_start_on_a_sparse_crowd_agrees_with_the_cold_run(sparse_crowd, pseudo):
    _, items, workers, answers, shape = sparse_crowd
    old = np.random.default_rng(1).random(len(items)) >= 0.02  # 2 % of the answers are new
    previous = dawid_skene(items[old], workers[old], answers[old], **shape, pseudo=pseudo)
    cold = dawid_skene(items, workers, answers, **shape, pseudo=pseudo, max_iterations=500)
    warm = dawid_skene(items, workers, answers, **shape, pseudo=pseudo, max_iterations=500,
                       start=WarmStart(previous.confusions, previous.priors))  # fmt: skip
    assert warm.iterations < cold.iterations
    assert (warm.labels != cold.labels).sum() <= 2
    assert np.abs(warm.posteriors - cold.posteriors).max() < 0.05


def test_crowd_features_are_opt_in_and_keep_matrices_stochastic():
    plain = make_crowd(n_items=100, n_workers=20, n_classes=4, seed=1)
    again = make_crowd(n_items=100, n_workers=20, n_classes=4, seed=1)
    shared = make_crowd(n_items=100, n_workers=20, n_classes=4, seed=1,
                        shared_confusion=0.6, class_difficulty=0.1)  # fmt: skip
    assert np.array_equal(plain.confusions, again.confusions)
    assert np.array_equal(plain.truth, shared.truth)
    assert not np.allclose(plain.confusions, shared.confusions)
    assert np.allclose(shared.confusions.sum(axis=2), 1.0) and shared.confusions.min() >= 0
