"""Choosing EM's prior strength by held-out answer likelihood, on crowds whose prior is known.

Each simulated worker's confusion rows are drawn from a Dirichlet around the default prior's
mean (2/3 on the right class, the rest spread evenly) with a known concentration: 3 is the
default prior itself, 30 a crowd of look-alike workers (a stronger prior is right), 0.3 a
crowd of idiosyncratic workers (a weak prior is right). The criterion sees answers only.
"""

import numpy as np
import pytest

from labeling.consolidation.dawid_skene import DEFAULT_PSEUDO_COUNTS, PseudoCounts, dawid_skene
from labeling.consolidation.em_prior_choice import (
    choose_pseudo_counts,
    heldout_answer_log_likelihood,
    scaled,
)

N_CLASSES = 4
WEAK, DEFAULT, STRONG = 0, 1, 2
CANDIDATES = tuple(scaled(DEFAULT_PSEUDO_COUNTS, factor) for factor in (0.05, 1.0, 8.0))


def dirichlet_crowd(*, concentration, n_items, n_workers, per_item, seed):
    rng = np.random.default_rng(seed)
    mean = np.full((N_CLASSES, N_CLASSES), (1 / 3) / (N_CLASSES - 1))
    np.fill_diagonal(mean, 2 / 3)
    confusions = np.stack(
        [[rng.dirichlet(concentration * mean[c]) for c in range(N_CLASSES)]
         for _ in range(n_workers)]
    )  # fmt: skip
    truth = rng.integers(0, N_CLASSES, n_items)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :per_item].ravel()
    items = np.repeat(np.arange(n_items), per_item)
    rows = confusions[workers, truth[items]]
    answers = (rows.cumsum(axis=1) < rng.random(len(items))[:, None]).sum(axis=1)
    shape = {"n_items": n_items, "n_workers": n_workers, "n_classes": N_CLASSES}
    return truth, items, workers, answers.clip(max=N_CLASSES - 1), shape


def _accuracies(truth, items, workers, answers, shape):
    return [
        float((dawid_skene(items, workers, answers, **shape, pseudo=p).labels == truth).mean())
        for p in CANDIDATES
    ]


@pytest.mark.parametrize(
    ("concentration", "size", "right"),
    [
        (3.0, {"n_items": 1000, "n_workers": 300, "per_item": 3}, DEFAULT),
        (30.0, {"n_items": 1000, "n_workers": 300, "per_item": 3}, STRONG),
        (0.3, {"n_items": 400, "n_workers": 8, "per_item": 2}, WEAK),
    ],
    ids=["workers-drawn-from-the-default-prior", "look-alike-workers", "idiosyncratic-workers"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_the_prior_the_crowd_was_drawn_from_is_chosen(concentration, size, right, seed):
    truth, items, workers, answers, shape = dirichlet_crowd(
        concentration=concentration, seed=seed, **size
    )
    choice = choose_pseudo_counts(items, workers, answers, **shape, candidates=CANDIDATES)
    assert choice.index == right
    assert choice.pseudo == CANDIDATES[right]
    assert len(choice.scores) == len(CANDIDATES)
    assert choice.scores[right] == max(choice.scores)
    # and what it picks labels the items at least as well as the far-off candidates
    accuracy = _accuracies(truth, items, workers, answers, shape)
    assert accuracy[right] >= max(accuracy) - 0.005


def test_maximum_likelihood_is_punished_for_rows_it_has_barely_seen():
    _, items, workers, answers, shape = dirichlet_crowd(
        concentration=3.0, n_items=1000, n_workers=300, per_item=3, seed=4
    )
    no_prior = heldout_answer_log_likelihood(
        items, workers, answers, **shape, pseudo=PseudoCounts(1e-9, 1e-9, 1e-9)
    )
    default = heldout_answer_log_likelihood(
        items, workers, answers, **shape, pseudo=DEFAULT_PSEUDO_COUNTS
    )
    assert no_prior < default - 0.2  # nats per answer
    assert default > np.log(1 / N_CLASSES) - 0.1  # near or above a blind guess's score


def test_the_score_is_reproducible_and_depends_on_the_folds_seed_only():
    _, items, workers, answers, shape = dirichlet_crowd(
        concentration=3.0, n_items=300, n_workers=40, per_item=3, seed=2
    )
    args = (items, workers, answers)
    first = heldout_answer_log_likelihood(*args, **shape, pseudo=DEFAULT_PSEUDO_COUNTS)
    again = heldout_answer_log_likelihood(*args, **shape, pseudo=DEFAULT_PSEUDO_COUNTS)
    other = heldout_answer_log_likelihood(*args, **shape, pseudo=DEFAULT_PSEUDO_COUNTS, seed=1)
    assert first == again
    assert other != first


def test_bad_input_is_refused_with_what_is_wrong():
    items, workers, answers = np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1, 1, 0])
    shape = {"n_items": 2, "n_workers": 2, "n_classes": 2}
    with pytest.raises(ValueError, match="folds must be at least 2"):
        heldout_answer_log_likelihood(
            items, workers, answers, **shape, pseudo=DEFAULT_PSEUDO_COUNTS, folds=1
        )
    with pytest.raises(ValueError, match="3 answers cannot be split into 5 folds"):
        heldout_answer_log_likelihood(
            items, workers, answers, **shape, pseudo=DEFAULT_PSEUDO_COUNTS
        )
    with pytest.raises(ValueError, match="at least one candidate"):
        choose_pseudo_counts(items, workers, answers, **shape, candidates=())
    with pytest.raises(ValueError, match="scale must be above 0"):
        scaled(DEFAULT_PSEUDO_COUNTS, 0.0)


def test_scaling_keeps_the_prior_shape():
    doubled = scaled(PseudoCounts(2.0, 1.0, 1.0, pooled=4.0), 2.0)
    assert doubled == PseudoCounts(4.0, 2.0, 2.0, pooled=8.0)
