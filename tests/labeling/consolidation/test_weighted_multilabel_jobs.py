"""Multi-label jobs weight each worker's per-class votes by their estimated reliability
when the job consolidates with EM and estimates exist; majority vote otherwise."""

import math

import numpy as np
import pytest

from labeling.consolidation.weighted_multilabel import (
    WEIGHTED_MULTILABEL,
    log_odds_weights,
    weighted_item_vote,
)
from labeling.models import ConsolidatedLabel, Job, WorkerQuality
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type

LABELS = ["a", "b", "c"]
# One reliable worker says {a}; two barely-better-than-chance workers say {b}.
RELIABLE, WEAK = 0.95, 0.6


def test_log_odds_weights_with_known_values():
    weights = log_odds_weights([0.95, 0.6, 0.5, 0.3, 1.0])
    assert weights[0] == pytest.approx(math.log(19))
    assert weights[1] == pytest.approx(math.log(1.5))
    assert weights[2] == 0 and weights[3] == 0  # at or below chance: no say
    assert weights[4] == pytest.approx(math.log(99))  # capped, never infinite


def test_no_weight_at_all_means_an_unweighted_vote():
    assert weighted_item_vote(np.ones((2, 3), dtype=bool), [0.0, 0.0]) is None
    assert weighted_item_vote(np.ones((0, 3), dtype=bool), []) is None


@pytest.mark.parametrize(
    ("key", "answer"),
    [
        ("text-classification-multilabel", lambda labels: {"labels": labels}),
        ("image-classification-multilabel", lambda labels: {"categories": {"labels": labels}}),
    ],
)
def test_task_types_weighted_against_majority(key, answer):
    kind = get_task_type(key)
    answers = [answer(["a"]), answer(["b"]), answer(["b"])]
    plain = kind.consolidate_answers(answers, LABELS, item_data={})
    assert plain.value["labels"] == ["b"] and plain.method != WEIGHTED_MULTILABEL

    weights = list(log_odds_weights([RELIABLE, WEAK, WEAK]))
    weighted = kind.consolidate_answers(answers, LABELS, item_data={}, weights=weights)
    assert weighted.value["labels"] == ["a"] and weighted.method == WEIGHTED_MULTILABEL
    expected_share = math.log(19) / (math.log(19) + 2 * math.log(1.5))  # 0.784
    assert weighted.value["confidence_map"]["0"] == pytest.approx(expected_share, abs=1e-4)

    equal = kind.consolidate_answers(answers, LABELS, item_data={}, weights=[1.0, 1.0, 1.0])
    assert equal.value["labels"] == plain.value["labels"]  # equal weights: the majority


@pytest.fixture
def multilabel_job(make_job, make_labeler):
    job = make_job(
        items=1, workers_per_item=3, task_type="text-classification-multilabel", labels=LABELS
    )
    workers = [make_labeler(name) for name in ("reliable", "weak1", "weak2")]
    return job, workers


def _answer_all(job, workers, picks):
    for worker, labels in zip(workers, picks, strict=True):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"labels": labels})
    return ConsolidatedLabel.objects.get(job=job)


def _estimates(job, workers, accuracies):
    for worker, accuracy in zip(workers, accuracies, strict=True):
        WorkerQuality.objects.create(job=job, worker=worker, estimated_accuracy=accuracy)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["dawid_skene", "one_coin"])
def test_an_em_job_with_estimates_weights_the_votes(multilabel_job, method):
    job, workers = multilabel_job
    Job.objects.filter(pk=job.pk).update(consolidation_method=method)
    _estimates(job, workers, [RELIABLE, WEAK, WEAK])
    label = _answer_all(job, workers, [["a", "c"], ["b"], ["b", "c"]])
    # a: 0.95 yes vs two 0.6 no (a wins); b: the reverse (out); c: 0.95 + 0.6 yes (in)
    assert label.value["labels"] == ["a", "c"]
    assert label.method == WEIGHTED_MULTILABEL


@pytest.mark.django_db
def test_majority_stays_the_default(multilabel_job):
    job, workers = multilabel_job
    _estimates(job, workers, [RELIABLE, WEAK, WEAK])  # ignored: the job votes by majority
    assert job.consolidation_method in ("auto", "majority")
    label = _answer_all(job, workers, [["a", "c"], ["b"], ["b", "c"]])
    assert label.value["labels"] == ["b", "c"] and label.method != WEIGHTED_MULTILABEL


@pytest.mark.django_db
def test_an_em_job_without_estimates_votes_by_majority(multilabel_job):
    job, workers = multilabel_job
    Job.objects.filter(pk=job.pk).update(consolidation_method="dawid_skene")
    label = _answer_all(job, workers, [["a"], ["b"], ["b"]])
    assert label.value["labels"] == ["b"] and label.method != WEIGHTED_MULTILABEL


@pytest.mark.django_db
def test_a_worker_not_yet_estimated_weighs_the_default_accuracy(multilabel_job):
    job, workers = multilabel_job
    Job.objects.filter(pk=job.pk).update(consolidation_method="dawid_skene")
    # Only the two weak workers are estimated; the unestimated one counts as 0.7 accurate,
    # log(7/3) = 0.847 > 2 * log(1.5) = 0.811, so their lone "a" wins.
    _estimates(job, workers[1:], [WEAK, WEAK])
    label = _answer_all(job, workers, [["a"], ["b"], ["b"]])
    assert label.value["labels"] == ["a"] and label.method == WEIGHTED_MULTILABEL
