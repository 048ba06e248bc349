"""annotation_submit: validated answers, closed leases, consolidation and job completion."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import LeaseClosed, LeaseExpired, NotAllowed, ValidationFailed
from labeling.models import Annotation, Assignment, ConsolidatedLabel, Item, Job, JobCounter
from labeling.selectors import job_progress
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_stop
from labeling.states import AssignmentStatus, ItemStatus, JobStatus
from labeling.workforces.services.teams import team_member_remove

pytestmark = pytest.mark.django_db


def _answer(job, worker, label):
    lease = assignment_claim(job=job, worker=worker)
    return annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def test_n_answers_are_consolidated_by_majority(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=3)
    for name, label in (("a", "dog"), ("b", "cat"), ("c", "dog")):
        _answer(job, make_labeler(name), label)
    label = ConsolidatedLabel.objects.get(job=job)
    assert (label.label, label.value["class_id"], label.method) == ("dog", 1, "majority")
    assert label.confidence == pytest.approx(2 / 3)
    assert label.human_annotated and label.answers_count == 3
    assert Item.objects.get(job=job).status == ItemStatus.LABELED


def test_an_item_is_not_consolidated_before_its_n_answers(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=2)
    _answer(job, make_labeler("a"), "cat")
    assert not ConsolidatedLabel.objects.filter(job=job).exists()
    progress = job_progress(job_id=job.pk)
    assert (progress.answers_total, progress.items_labeled) == (1, 0)


def test_the_job_completes_when_every_item_has_a_label(make_job, make_labeler):
    job = make_job(items=2, workers_per_item=1)
    worker = make_labeler("a")
    _answer(job, worker, "cat")
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS
    _answer(job, worker, "bird")
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    progress = job_progress(job_id=job.pk)
    assert (progress.items_labeled, progress.items_total, progress.answers_total) == (2, 2, 2)
    assert job.status_history.last().to_status == JobStatus.COMPLETED


def test_the_element_form_of_an_answer_is_accepted(make_job, make_labeler):
    job = make_job(items=1)
    worker = make_labeler("a")
    lease = assignment_claim(job=job, worker=worker)
    annotation = annotation_submit(
        assignment_id=lease.pk, worker=worker, answer={"sentiment": {"label": "bird"}}
    )
    assert annotation.answer == {"label": "bird"} and annotation.label == "bird"


@pytest.mark.parametrize(
    "answer", [{"label": "horse"}, {"label": 3}, "cat", None, {"a": 1, "b": 2}]
)
def test_a_bad_answer_is_refused_and_the_lease_stays_open(make_job, make_labeler, answer):
    job = make_job(items=1)
    worker = make_labeler("a")
    lease = assignment_claim(job=job, worker=worker)
    with pytest.raises(ValidationFailed):
        annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.LEASED
    assert not Annotation.objects.exists()


def test_a_late_submit_is_refused_and_the_item_goes_back(make_job, make_labeler):
    job = make_job(items=1)
    worker = make_labeler("a")
    lease = assignment_claim(job=job, worker=worker)
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(LeaseExpired) as refused:
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    assert "not stored" in refused.value.message
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.EXPIRED
    assert not Annotation.objects.exists()
    assert Item.objects.get(job=job).taken == 0


def test_a_second_submit_on_the_same_lease_is_refused(make_job, make_labeler):
    job = make_job(items=1)
    worker = make_labeler("a")
    lease = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    with pytest.raises(LeaseClosed):
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "dog"})
    assert Annotation.objects.count() == 1


def test_nobody_submits_on_someone_elses_lease(make_job, make_labeler):
    job = make_job(items=1)
    owner, intruder = make_labeler("a"), make_labeler("b")
    lease = assignment_claim(job=job, worker=owner)
    with pytest.raises(NotAllowed):
        annotation_submit(assignment_id=lease.pk, worker=intruder, answer={"label": "cat"})
    assert not Annotation.objects.exists()


def test_answers_on_a_stopped_job_are_kept(make_job, make_labeler, manager):
    job = make_job(items=1)
    worker = make_labeler("a")
    lease = assignment_claim(job=job, worker=worker)
    job_stop(job=job, by=manager)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    assert Job.objects.get(pk=job.pk).status == JobStatus.STOPPED
    assert ConsolidatedLabel.objects.filter(job=job).count() == 1


def test_an_element_named_label_still_gives_its_answer(make_job, make_labeler):
    job = make_job(items=1)
    worker = make_labeler("a")
    lease = assignment_claim(job=job, worker=worker)
    annotation = annotation_submit(
        assignment_id=lease.pk, worker=worker, answer={"label": {"label": "dog"}}
    )
    assert annotation.label == "dog"


def test_a_worker_removed_from_the_team_cannot_submit_on_the_lease_they_held(
    make_job, make_labeler, team
):
    """issue 12: the lease closes only while its worker is still on the job's team."""
    job = make_job(items=1)
    worker = make_labeler("leaver")
    lease = assignment_claim(job=job, worker=worker)
    team_member_remove(team=team, user=worker)

    with pytest.raises(NotAllowed) as refused:
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})

    assert refused.value.code == "not_on_team"
    assert not Annotation.objects.filter(job=job).exists()
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.RELEASED  # the slot went back to the pool
    assert Item.objects.get(job=job).taken == 0
    stayer = make_labeler("stayer")
    _answer(job, stayer, "dog")
    assert ConsolidatedLabel.objects.get(job=job).label == "dog"


def test_answers_are_counted_in_the_job_counters_even_without_its_shards(make_job, make_labeler):
    # The submit counts its answer in the statement that stores it (PostgreSQL, issue 20);
    # a job whose shards are missing gets them on first use, counted once.
    job = make_job(items=2, workers_per_item=2)
    JobCounter.objects.filter(job=job).delete()
    a, b = make_labeler("a"), make_labeler("b")
    for worker in (a, b):
        _answer(job, worker, "cat")
    _answer(job, a, "dog")
    progress = job_progress(job_id=job.pk)
    assert (progress.answers_total, progress.items_labeled) == (3, 1)
    shards = JobCounter.objects.filter(job=job)
    assert sum(shard.answers for shard in shards) == 3
    assert sum(shard.items_labeled for shard in shards) == 1
