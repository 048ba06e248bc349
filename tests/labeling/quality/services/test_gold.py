"""Gold items: mixed into queues, scored, pausing workers who fall below the job's bar."""

import pytest

from labeling.errors import NotAllowed
from labeling.models import ConsolidatedLabel, GoldItem, Item, WorkerQuality
from labeling.quality.services.gold import gold_item_mark, gold_items_add, worker_resume
from labeling.quality.services.reliability import job_quality_configure
from labeling.quality.services.scoring import item_score
from labeling.selectors import job_progress
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.conftest import import_lines

pytestmark = pytest.mark.django_db


def _gold_job(make_job, manager, **settings):
    """Four gold items, then five ordinary ones: in queue order the gold comes first."""
    job = make_job(items=0, workers_per_item=1, start=False)
    gold_items_add(
        job=job,
        entries=[{"data": {"source": f"gold {i}"}, "label": "dog"} for i in range(4)],
    )
    import_lines(job, manager, [{"source": f"text {i}"} for i in range(5)])
    job_start(job=job, by=manager)
    job.refresh_from_db()
    return job_quality_configure(job=job, **settings)


def test_imported_gold_items_are_labeled_and_counted(make_job, manager):
    job = _gold_job(make_job, manager)
    assert job.items_total == 9 and job_progress(job_id=job.pk).items_labeled == 4
    golds = GoldItem.objects.filter(job=job)
    assert golds.count() == 4
    for gold in golds.select_related("item"):
        assert "dog" not in gold.item.data  # the answer is kept apart from the item
        assert ConsolidatedLabel.objects.get(item=gold.item).method == "gold"


def test_gold_items_come_only_at_the_gold_rate(make_job, manager, labeler):
    job = _gold_job(make_job, manager, gold_rate=0.0)
    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    lease = assignment_claim(job=job, worker=labeler)
    assert lease.item_id not in gold_ids
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    job_quality_configure(job=job, gold_rate=1.0)
    lease = assignment_claim(job=job, worker=labeler)
    assert lease.item_id in gold_ids


def test_gold_answers_are_scored_and_a_worker_below_the_bar_is_paused(make_job, manager, labeler):
    job = _gold_job(make_job, manager, gold_rate=1.0, gold_min_answers=3, gold_pause_below=0.6)
    for answer in ("dog", "cat", "cat"):  # 1 of 3 right: 33 % < 60 %
        lease = assignment_claim(job=job, worker=labeler)
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": answer})
    quality = WorkerQuality.objects.get(job=job, worker=labeler)
    assert (quality.gold_answers, quality.gold_correct) == (3, 1)
    assert quality.paused
    assert "33%" in quality.paused_reason and "60%" in quality.paused_reason
    with pytest.raises(NotAllowed) as refused:
        assignment_claim(job=job, worker=labeler)
    assert refused.value.code == "paused_on_job"
    assert "paused" in refused.value.message
    worker_resume(job=job, worker=labeler)
    assert assignment_claim(job=job, worker=labeler) is not None


def test_no_pause_before_the_minimum_number_of_gold_answers(make_job, manager, labeler):
    job = _gold_job(make_job, manager, gold_rate=1.0, gold_min_answers=3, gold_pause_below=0.9)
    for _ in range(2):
        lease = assignment_claim(job=job, worker=labeler)
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    assert not WorkerQuality.objects.get(job=job, worker=labeler).paused
    assert assignment_claim(job=job, worker=labeler) is not None


def test_a_paused_workers_answers_leave_consolidation_when_the_job_says_so(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=3)
    workers = [make_labeler(name) for name in ("p1", "p2", "p3")]
    for worker, label in zip(workers, ("cat", "cat", "dog"), strict=True):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    item = Item.objects.get(job=job)
    assert item_score(job_id=job.pk, item_id=item.pk, labels=job.labels)[0] == 0  # cat
    for worker in workers[:2]:
        WorkerQuality.objects.create(job=job, worker=worker, paused=True, paused_reason="x")
    job_quality_configure(job=job, gold_pause_below=0.5, exclude_paused_answers=True)
    assert item_score(job_id=job.pk, item_id=item.pk, labels=job.labels)[:2] == (1, 1.0)
    job_quality_configure(job=job, exclude_paused_answers=False)
    assert item_score(job_id=job.pk, item_id=item.pk, labels=job.labels)[0] == 0


def test_marking_an_open_item_gold_labels_it(make_job):
    job = make_job(items=2, workers_per_item=1)
    item = Item.objects.filter(job=job).first()
    gold_item_mark(job=job, item_id=item.pk, label="bird")
    job.refresh_from_db()
    assert job_progress(job_id=job.pk).items_labeled == 1
    assert ConsolidatedLabel.objects.get(item=item).label == "bird"


def test_gold_imported_after_the_items_is_spread_through_the_queue(make_job, labeler):
    job = make_job(items=300, workers_per_item=1)
    gold_items_add(
        job=job, entries=[{"data": {"source": f"gold {i}"}, "label": "dog"} for i in range(30)]
    )
    job.refresh_from_db()
    job_quality_configure(job=job, gold_rate=1.0)
    gold_ids = set(GoldItem.objects.filter(job=job).values_list("item_id", flat=True))
    served = []
    while (lease := assignment_claim(job=job, worker=labeler)) is not None:
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
        served.append(lease.item_id in gold_ids)
    assert sum(served) == 30  # every gold item, before the job ran out of ordinary ones
    assert 5 <= sum(served[: len(served) // 2]) <= 25  # not all after the items
