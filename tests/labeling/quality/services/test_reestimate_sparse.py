"""The app's re-estimation on a sparse job: 3 answers per item, most workers seen twice."""

import json

import pytest

from labeling.consolidation.dawid_skene import DEFAULT_PSEUDO_COUNTS
from labeling.models import ConsolidatedLabel, ConsolidationMethod, WorkerQuality
from labeling.quality.services import reliability as quality
from labeling.quality.services.reliability import job_quality_reestimate
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db

LABELS = ["cat", "dog", "bird"]
ITEMS = 30


def truth_of(n: int) -> str:
    return LABELS[n % 3]


def answer(kind: str, n: int) -> str:
    if kind == "confuser" and truth_of(n) == "dog":  # reads every dog as a bird
        return "bird"
    return truth_of(n)


def answer_some(job, worker, kind: str, limit: int) -> int:
    given = 0
    while given < limit:
        lease = assignment_claim(job=job, worker=worker)
        if lease is None:
            break
        n = json.loads(lease.item.data)["n"]
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": answer(kind, n)})
        given += 1
    return given


@pytest.fixture
def sparse_job(make_job, make_labeler, monkeypatch):
    monkeypatch.setattr(quality, "EM_MIN_OVERLAPPING_ANSWERS", 30)
    job = make_job(items=ITEMS, workers_per_item=3, labels=LABELS)
    occasional = [make_labeler(f"once{i}") for i in range(15)]
    for worker in occasional:  # 15 workers x 2 answers, all right
        assert answer_some(job, worker, "good", 2) == 2
    busy = {make_labeler("good"): "good", make_labeler("conf"): "confuser"}
    for worker, kind in busy.items():
        answer_some(job, worker, kind, ITEMS)
    closer = make_labeler("closer")
    answer_some(job, closer, "good", ITEMS)
    return job, occasional, busy


def test_em_runs_on_a_sparse_job_and_keeps_two_answer_workers_moderate(sparse_job):
    job, occasional, busy = sparse_job
    estimate = job_quality_reestimate(job_id=job.pk)
    assert estimate.method_in_use == ConsolidationMethod.DAWID_SKENE
    assert estimate.answers_used == ITEMS * 3
    rows = {row.worker_id: row for row in WorkerQuality.objects.filter(job=job)}
    for worker in occasional:
        matrix = rows[worker.pk].confusion
        assert rows[worker.pk].answers == 2
        # Two right answers: better than chance, far from certain (the default pseudo-counts).
        assert all(0.1 < value < 0.8 for row in matrix for value in row)
        assert 1 / 3 < rows[worker.pk].estimated_accuracy < 0.8
    confuser = next(w for w, kind in busy.items() if kind == "confuser")
    dog_row = rows[confuser.pk].confusion[LABELS.index("dog")]
    assert dog_row[LABELS.index("bird")] > dog_row[LABELS.index("dog")]
    labels = ConsolidatedLabel.objects.filter(job=job).select_related("item")
    assert all(row.label == truth_of(json.loads(row.item.data)["n"]) for row in labels)
    assert DEFAULT_PSEUDO_COUNTS.pooled == 0.0  # the app runs the default prior
