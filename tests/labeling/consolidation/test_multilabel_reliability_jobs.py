"""Multi-label jobs decide each class by its posterior under the workers' stored per-label
reliability when the job consolidates with EM and estimates exist; majority vote otherwise."""

import json

import numpy as np
import pytest

from labeling.consolidation.multilabel import MULTILABEL_EM
from labeling.consolidation.multilabel_em import LabelReliability
from labeling.models import ConsolidatedLabel, Job, JobQualityEstimate, WorkerQuality
from labeling.quality.tasks import quality_reestimate_task
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.task_types import get_task_type

LABELS = ["a", "b", "c"]
# One reliable worker says {a}; two barely-better-than-chance workers say {b}.
RELIABLE, WEAK = 0.95, 0.6


def _symmetric(accuracies, n_labels=3):
    """Workers right ``p`` of the time on every yes/no (sensitivity = specificity = p)."""
    rows = np.repeat(np.asarray(accuracies, dtype=np.float64)[:, None], n_labels, axis=1)
    return LabelReliability(rows, rows, np.full(n_labels, 0.5))


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
    assert plain.value["labels"] == ["b"] and plain.method != MULTILABEL_EM

    reliability = _symmetric([RELIABLE, WEAK, WEAK])
    weighted = kind.consolidate_answers(answers, LABELS, item_data={}, reliability=reliability)
    assert weighted.value["labels"] == ["a"] and weighted.method == MULTILABEL_EM
    # Posterior odds of "a": 19 (the reliable yes) / 1.5 ** 2 (two weak no) = 8.44.
    expected = 19 / 2.25 / (1 + 19 / 2.25)
    assert weighted.value["confidence_map"]["0"] == pytest.approx(expected, abs=1e-4)

    equal = kind.consolidate_answers(
        answers, LABELS, item_data={}, reliability=_symmetric([0.8, 0.8, 0.8])
    )
    assert equal.value["labels"] == plain.value["labels"]  # equal workers: the majority


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
    assert label.method == MULTILABEL_EM


@pytest.mark.django_db
def test_majority_stays_the_default(multilabel_job):
    job, workers = multilabel_job
    _estimates(job, workers, [RELIABLE, WEAK, WEAK])  # ignored: the job votes by majority
    assert job.consolidation_method in ("auto", "majority")
    label = _answer_all(job, workers, [["a", "c"], ["b"], ["b", "c"]])
    assert label.value["labels"] == ["b", "c"] and label.method != MULTILABEL_EM


@pytest.mark.django_db
def test_an_em_job_without_estimates_votes_by_majority(multilabel_job):
    job, workers = multilabel_job
    Job.objects.filter(pk=job.pk).update(consolidation_method="dawid_skene")
    label = _answer_all(job, workers, [["a"], ["b"], ["b"]])
    assert label.value["labels"] == ["b"] and label.method != MULTILABEL_EM


@pytest.mark.django_db
def test_a_worker_not_yet_estimated_weighs_the_default_accuracy(multilabel_job):
    job, workers = multilabel_job
    Job.objects.filter(pk=job.pk).update(consolidation_method="dawid_skene")
    # Only the two weak workers are estimated; the unestimated one counts as 0.7 accurate:
    # odds 7/3 = 2.33 for "a" against 1.5 ** 2 = 2.25, so their lone "a" wins.
    _estimates(job, workers[1:], [WEAK, WEAK])
    label = _answer_all(job, workers, [["a"], ["b"], ["b"]])
    assert label.value["labels"] == ["a"] and label.method == MULTILABEL_EM


@pytest.mark.django_db
def test_submit_then_reestimation_learns_per_label_reliability_and_relabels(make_job, make_labeler):
    """End to end: answers through claim/submit, the Celery re-estimation's multi-label EM,
    consolidated labels rewritten where two reliable workers outweigh three at chance."""
    n_items = 40
    job = make_job(
        items=n_items, workers_per_item=5, task_type="text-classification-multilabel",
        labels=LABELS,
    )  # fmt: skip
    Job.objects.filter(pk=job.pk).update(consolidation_method="dawid_skene")
    rng = np.random.default_rng(7)
    truth = rng.random((n_items, len(LABELS))) < 0.4
    coin = rng.random((n_items, 3, len(LABELS))) < 0.5  # the noisy workers' label "b"
    reliable = [make_labeler(f"rel{i}") for i in range(2)]
    noisy = [make_labeler(f"noisy{i}") for i in range(3)]

    def picks(n, worker):
        row = truth[n].copy()
        if worker in noisy:  # at chance on "b", right on "a" and "c"
            row[1] = coin[n, noisy.index(worker), 1]
        return [label for label, yes in zip(LABELS, row, strict=True) if yes]

    for worker in reliable + noisy:
        for _ in range(n_items):
            lease = assignment_claim(job=job, worker=worker)
            n = json.loads(lease.item.data)["n"]
            annotation_submit(
                assignment_id=lease.pk, worker=worker, answer={"labels": picks(n, worker)}
            )

    def labels_right():
        rows = ConsolidatedLabel.objects.filter(job=job).select_related("item")
        return sum(
            row.value["labels"] == picks(json.loads(row.item.data)["n"], None) for row in rows
        )

    by_vote = labels_right()  # no estimates yet: every item was a plain vote
    assert by_vote < n_items  # three coin-flippers outvote the reliable two on some items

    outcome = quality_reestimate_task(job.pk)
    assert outcome["method"] == "dawid_skene"
    assert labels_right() == n_items
    rows = ConsolidatedLabel.objects.filter(job=job)
    assert {row.method for row in rows} == {MULTILABEL_EM}
    estimate = JobQualityEstimate.objects.get(job=job)
    assert len(estimate.priors) == 3 and estimate.labels_changed >= n_items - by_vote
    stored = {
        row.worker.username: row.label_reliability
        for row in WorkerQuality.objects.filter(job=job).select_related("worker")
    }
    assert stored["rel0"]["sensitivity"][1] > 0.8 and stored["rel0"]["specificity"][1] > 0.8
    assert stored["noisy0"]["sensitivity"][1] < 0.75 or stored["noisy0"]["specificity"][1] < 0.75
    assert stored["noisy0"]["sensitivity"][0] > 0.8  # right on "a"
    for row in rows:  # each kept class's confidence is its posterior
        assert all(0.5 <= share <= 1 for share in row.value["confidence_map"].values())

    # The next run starts from these estimates; the labels stay (confidences may move a little).
    first_iterations = estimate.iterations
    assert not estimate.warm_start
    quality_reestimate_task(job.pk)
    estimate.refresh_from_db()
    assert estimate.warm_start and estimate.iterations <= first_iterations
    assert labels_right() == n_items
