"""Adaptive overlap in the claim and submit path: stop when sure, more workers while unsure."""

import pytest
from django.utils import timezone

from labeling.models import ConsolidatedLabel, Item, JobQualityEstimate, WorkerQuality
from labeling.quality.math.adaptive import default_confusion
from labeling.quality.services.reliability import job_quality_configure
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.states import ItemStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def adaptive_job(make_job):
    job = make_job(items=1, workers_per_item=5)
    return job_quality_configure(job=job, min_workers_per_item=2, target_confidence=0.9)


def _answer(job, worker, label):
    lease = assignment_claim(job=job, worker=worker)
    assert lease is not None
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def test_an_item_takes_only_the_minimum_workers_at_first(adaptive_job, make_labeler):
    first, second, third = (make_labeler(name) for name in ("a1", "a2", "a3"))
    assert assignment_claim(job=adaptive_job, worker=first) is not None
    assert assignment_claim(job=adaptive_job, worker=second) is not None
    assert assignment_claim(job=adaptive_job, worker=third) is None  # 2 slots, both taken


def test_two_agreeing_answers_finish_the_item(adaptive_job, make_labeler):
    for name in ("b1", "b2"):
        _answer(adaptive_job, make_labeler(name), "dog")
    item = Item.objects.get(job=adaptive_job)
    assert item.status == ItemStatus.LABELED
    consolidated = ConsolidatedLabel.objects.get(item=item)
    assert consolidated.label == "dog" and consolidated.answers_count == 2
    assert consolidated.confidence >= 0.9
    assert assignment_claim(job=adaptive_job, worker=make_labeler("b3")) is None


def test_disagreement_opens_one_more_slot_at_a_time_up_to_the_maximum(adaptive_job, make_labeler):
    workers = [make_labeler(f"c{i}") for i in range(6)]
    _answer(adaptive_job, workers[0], "cat")
    _answer(adaptive_job, workers[1], "dog")
    assert Item.objects.get(job=adaptive_job).extra_slots == 1
    held = assignment_claim(job=adaptive_job, worker=workers[2])
    assert assignment_claim(job=adaptive_job, worker=workers[3]) is None  # one slot at a time
    annotation_submit(assignment_id=held.pk, worker=workers[2], answer={"label": "bird"})
    for worker, label in zip(workers[3:5], ("cat", "dog"), strict=True):
        item = Item.objects.get(job=adaptive_job)
        assert item.status == ItemStatus.OPEN
        _answer(adaptive_job, worker, label)
    item = Item.objects.get(job=adaptive_job)
    assert item.answers == 5 and item.status == ItemStatus.LABELED  # the maximum ends it
    assert assignment_claim(job=adaptive_job, worker=workers[5]) is None


def test_the_stop_rule_reads_the_stored_worker_estimates(make_job, make_labeler):
    """Two agreeing answers stop the item only when the stored estimates make them sure."""
    job = job_quality_configure(
        job=make_job(items=2, workers_per_item=5), min_workers_per_item=2, target_confidence=0.95
    )
    JobQualityEstimate.objects.create(
        job=job, method_in_use="majority", priors=[1 / 3] * 3, computed_at=timezone.now()
    )
    sharp, weak = make_labeler("sharp"), make_labeler("weak")
    for worker, accuracy in ((sharp, 0.99), (weak, 0.5)):
        WorkerQuality.objects.create(
            job=job, worker=worker, confusion=default_confusion(3, accuracy).tolist()
        )
    first, second = Item.objects.filter(job=job).order_by("id")
    # The sharp worker and a default one (0.7) agree: sure, done at 2.
    _answer(job, sharp, "cat")
    _answer(job, make_labeler("new1"), "cat")
    first.refresh_from_db()
    assert first.status == ItemStatus.LABELED and first.answers == 2
    # A default worker and the weak one (at chance) agree: 0.82 < 0.95, one more slot.
    _answer(job, make_labeler("new2"), "dog")
    _answer(job, weak, "dog")
    second.refresh_from_db()
    assert second.status == ItemStatus.OPEN and second.extra_slots == 1
