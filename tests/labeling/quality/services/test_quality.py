"""Worker reliability in the app: the Celery re-estimation, the job's method, re-consolidation."""

import json

import pytest

from labeling.errors import ValidationFailed
from labeling.models import (
    ConsolidatedLabel,
    ConsolidationMethod,
    Item,
    JobQualityEstimate,
    WorkerQuality,
)
from labeling.quality.services import reliability as quality
from labeling.quality.services.reliability import (
    consolidated_label_set_final,
    job_quality_configure,
    job_quality_reestimate,
)
from labeling.selectors import job_progress
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db

LABELS = ["cat", "dog", "bird"]


def truth_of(n: int) -> str:
    return LABELS[n % 3]


def answer_rule(kind: str, n: int) -> str:
    """How each kind of worker answers item n: right, always 'cat', or right but 'dog'→'bird'."""
    if kind == "spammer":
        return "cat"
    if kind == "confuser" and truth_of(n) == "dog":
        return "bird"
    return truth_of(n)


def work_until_done(job, workers: dict, limit: int = 2000) -> None:
    for _ in range(limit):
        progressed = False
        for worker, kind in workers.items():
            lease = assignment_claim(job=job, worker=worker)
            if lease is None:
                continue
            n = json.loads(lease.item.data)["n"]
            annotation_submit(
                assignment_id=lease.pk, worker=worker, answer={"label": answer_rule(kind, n)}
            )
            progressed = True
        if not progressed:
            return


@pytest.fixture
def crowd_job(make_job, make_labeler, monkeypatch):
    monkeypatch.setattr(quality, "EM_MIN_OVERLAPPING_ANSWERS", 30)
    job = make_job(items=30, workers_per_item=3, labels=LABELS)
    workers = {
        make_labeler("good1"): "good",
        make_labeler("good2"): "good",
        make_labeler("spam"): "spammer",
        make_labeler("conf"): "confuser",
    }
    work_until_done(job, workers)
    job.refresh_from_db()
    assert job_progress(job_id=job.pk).items_labeled == 30
    return job, workers


def test_reestimation_stores_each_workers_reliability_and_the_jobs_agreement(crowd_job):
    job, workers = crowd_job
    estimate = job_quality_reestimate(job_id=job.pk)
    assert estimate.method_in_use == ConsolidationMethod.DAWID_SKENE  # auto, overlap enough
    assert estimate.answers_used == 90 and estimate.workers == 4
    assert estimate.alpha is not None and estimate.kappa is not None
    assert set(estimate.per_label) == set(LABELS)
    by_kind = {
        workers[row.worker]: row
        for row in WorkerQuality.objects.filter(job=job).select_related("worker")
    }
    assert by_kind["spammer"].estimated_accuracy < 0.6 < by_kind["good"].estimated_accuracy
    # The confuser's confusion row for "dog" puts its weight on "bird".
    dog_row = by_kind["confuser"].confusion[LABELS.index("dog")]
    assert dog_row[LABELS.index("bird")] > dog_row[LABELS.index("dog")]
    assert len(by_kind["good"].confusion) == 3


def test_em_relabels_what_majority_got_wrong_and_keeps_a_managers_final_label(crowd_job):
    job, _ = crowd_job
    job_quality_configure(job=job, consolidation_method=ConsolidationMethod.MAJORITY)
    job_quality_reestimate(job_id=job.pk)
    final_item = Item.objects.filter(job=job).order_by("id").first()
    consolidated_label_set_final(job=job, item_id=final_item.pk, label="bird")

    job_quality_configure(job=job, consolidation_method=ConsolidationMethod.DAWID_SKENE)
    estimate = job_quality_reestimate(job_id=job.pk)
    labels = ConsolidatedLabel.objects.filter(job=job).select_related("item")
    right = sum(
        row.label == truth_of(json.loads(row.item.data)["n"])
        for row in labels
        if row.method != "manual"
    )
    assert right == 29  # every item but the one a manager set
    assert ConsolidatedLabel.objects.get(item=final_item).label == "bird"
    assert ConsolidatedLabel.objects.get(item=final_item).method == "manual"
    assert estimate.labels_changed >= 1


def test_a_submit_scores_the_item_with_the_stored_estimates(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=3, labels=LABELS)
    reliable, noisy1, noisy2 = (make_labeler(n) for n in ("rel", "noisy1", "noisy2"))
    JobQualityEstimate.objects.create(
        job=job,
        method_in_use=ConsolidationMethod.DAWID_SKENE,
        priors=[1 / 3] * 3,
        computed_at="2026-01-01T00:00:00Z",
    )
    sure = [[0.96, 0.02, 0.02], [0.02, 0.96, 0.02], [0.02, 0.02, 0.96]]
    coin = [[0.4, 0.3, 0.3], [0.3, 0.4, 0.3], [0.3, 0.3, 0.4]]
    for worker, confusion in ((reliable, sure), (noisy1, coin), (noisy2, coin)):
        WorkerQuality.objects.create(job=job, worker=worker, confusion=confusion)
    for worker, label in ((reliable, "dog"), (noisy1, "cat"), (noisy2, "cat")):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    consolidated = ConsolidatedLabel.objects.get(job=job)
    assert consolidated.label == "dog"  # majority would say cat
    assert consolidated.method == ConsolidationMethod.DAWID_SKENE
    assert 0.5 < consolidated.confidence < 1


def test_finishing_an_item_enqueues_one_debounced_reestimation(
    make_job, make_labeler, django_capture_on_commit_callbacks
):
    job = make_job(items=2, workers_per_item=1, labels=LABELS)
    worker = make_labeler("solo")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(2):
            lease = assignment_claim(job=job, worker=worker)
            annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "dog"})
    estimate = JobQualityEstimate.objects.get(job=job)  # the eager Celery task ran
    assert estimate.method_in_use == ConsolidationMethod.MAJORITY  # too little overlap yet
    assert WorkerQuality.objects.get(job=job, worker=worker).answers >= 1
    assert len(callbacks) >= 2


def test_settings_are_checked(make_job):
    job = make_job(items=1, workers_per_item=3)
    with pytest.raises(ValidationFailed, match="both"):
        job_quality_configure(job=job, min_workers_per_item=2)
    with pytest.raises(ValidationFailed, match="maximum"):
        job_quality_configure(job=job, min_workers_per_item=4, target_confidence=0.9)
    with pytest.raises(ValidationFailed, match="between 0 and 1"):
        job_quality_configure(job=job, gold_rate=1.5)


def test_the_next_reestimation_starts_from_the_stored_estimates(crowd_job):
    job, _ = crowd_job
    first = job_quality_reestimate(job_id=job.pk)
    assert not first.warm_start
    labels = dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "label"))
    first_iterations = first.iterations
    again = job_quality_reestimate(job_id=job.pk)
    assert again.warm_start and again.iterations <= first_iterations
    assert dict(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "label")) == labels


def test_a_reestimation_rewrites_a_label_only_when_its_confidence_moved_past_the_tolerance(
    crowd_job,
):
    """Issue 20: a re-estimation that moves a confidence by less than the tolerance leaves
    the row alone (rewriting every labeled item for an invisible drift made each run cost
    as much as the job's size); a larger move or another label is written."""
    from labeling.quality.services.store import CONFIDENCE_REWRITE_TOLERANCE

    job, _ = crowd_job
    job_quality_configure(job=job, consolidation_method=ConsolidationMethod.DAWID_SKENE)
    job_quality_reestimate(job_id=job.pk)
    estimated = dict(ConsolidatedLabel.objects.filter(job=job).values_list("pk", "confidence"))
    small, large, flipped = list(estimated)[:3]

    def nudged(pk: int, by: float) -> float:
        return estimated[pk] - by if estimated[pk] > 0.5 else estimated[pk] + by

    ConsolidatedLabel.objects.filter(pk=small).update(
        confidence=nudged(small, CONFIDENCE_REWRITE_TOLERANCE * 0.8)
    )
    ConsolidatedLabel.objects.filter(pk=large).update(
        confidence=nudged(large, CONFIDENCE_REWRITE_TOLERANCE * 4)
    )
    right_label = ConsolidatedLabel.objects.get(pk=flipped).label
    ConsolidatedLabel.objects.filter(pk=flipped).update(
        label=next(label for label in LABELS if label != right_label)
    )

    estimate = job_quality_reestimate(job_id=job.pk)

    assert estimate.labels_changed == 2
    after = dict(ConsolidatedLabel.objects.filter(job=job).values_list("pk", "confidence"))
    assert after[small] == pytest.approx(nudged(small, CONFIDENCE_REWRITE_TOLERANCE * 0.8))
    assert after[large] == pytest.approx(estimated[large], abs=1e-3)  # a warm start moves it a hair
    assert ConsolidatedLabel.objects.get(pk=flipped).label == right_label
    assert all(abs(after[pk] - estimated[pk]) <= CONFIDENCE_REWRITE_TOLERANCE for pk in estimated)
