"""assignment_claim: what a worker is offered, in which order, and what is refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import Conflict, NotAllowed
from labeling.models import Assignment, Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import (
    assignment_claim,
    assignment_release,
    assignment_skip,
    assignments_expire_due,
)
from labeling.states import AssignmentStatus
from labeling.workforces.services.teams import team_create

pytestmark = pytest.mark.django_db


def test_claims_follow_priority_then_import_order(make_job, make_labeler):
    job = make_job(items=3, max_concurrent_tasks_per_worker=3)
    items = list(Item.objects.filter(job=job).order_by("id"))
    Item.objects.filter(pk=items[2].pk).update(priority=5)
    worker = make_labeler("w1")
    claimed = [assignment_claim(job=job, worker=worker).item_id for _ in range(3)]
    assert claimed == [items[2].pk, items[0].pk, items[1].pk]


def test_a_worker_never_gets_an_item_they_answered_or_skipped(make_job, make_labeler):
    job = make_job(items=2, workers_per_item=2)
    worker = make_labeler("w1")
    first = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=first.pk, worker=worker, answer={"label": "cat"})
    second = assignment_claim(job=job, worker=worker)
    assert second.item_id != first.item_id
    assignment_skip(assignment_id=second.pk, worker=worker)
    assert assignment_claim(job=job, worker=worker) is None


def test_an_item_is_offered_to_at_most_n_workers(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=2)
    a, b, c = (make_labeler(name) for name in ("a", "b", "c"))
    assert assignment_claim(job=job, worker=a) is not None
    assert assignment_claim(job=job, worker=b) is not None
    assert assignment_claim(job=job, worker=c) is None
    assert Item.objects.get(job=job).taken == 2


def test_a_worker_holds_no_more_leases_than_the_job_allows(make_job, make_labeler):
    job = make_job(items=5, max_concurrent_tasks_per_worker=2)
    worker = make_labeler("w1")
    held = [assignment_claim(job=job, worker=worker).pk for _ in range(2)]
    with pytest.raises(Conflict) as refused:
        assignment_claim(job=job, worker=worker)
    assert refused.value.code == "too_many_leases"
    assert sorted(refused.value.details["assignments"]) == sorted(held)


def test_a_lease_that_ran_out_leaves_the_limit_free(make_job, make_labeler):
    # On PostgreSQL the claim's own statement checks the limit (issue 20): live leases only.
    job = make_job(items=5, max_concurrent_tasks_per_worker=1)
    worker = make_labeler("w1")
    first = assignment_claim(job=job, worker=worker)
    with pytest.raises(Conflict):
        assignment_claim(job=job, worker=worker)
    Assignment.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    second = assignment_claim(job=job, worker=worker)
    assert second is not None and second.pk != first.pk


def test_an_expired_lease_returns_the_item_to_the_pool(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=1)
    a, b = make_labeler("a"), make_labeler("b")
    lease = assignment_claim(job=job, worker=a)
    assert assignment_claim(job=job, worker=b) is None
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # The claim itself expires leases that ran out when nothing else is free.
    again = assignment_claim(job=job, worker=b)
    assert again is not None and again.item_id == lease.item_id
    lease.refresh_from_db()
    assert lease.status == AssignmentStatus.EXPIRED


def test_the_sweeper_expires_due_leases_and_frees_their_slots(make_job, make_labeler):
    job = make_job(items=2, workers_per_item=1, max_concurrent_tasks_per_worker=2)
    worker = make_labeler("w1")
    leases = [assignment_claim(job=job, worker=worker) for _ in range(2)]
    Assignment.objects.filter(pk=leases[0].pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert assignments_expire_due() == 1
    assert assignments_expire_due() == 0
    taken = dict(Item.objects.filter(job=job).values_list("pk", "taken"))
    assert taken == {leases[0].item_id: 0, leases[1].item_id: 1}


def test_a_worker_may_take_back_an_item_whose_lease_expired_or_was_released(make_job, make_labeler):
    job = make_job(items=1)
    worker = make_labeler("w1")
    lease = assignment_claim(job=job, worker=worker)
    assignment_release(assignment_id=lease.pk, worker=worker)
    again = assignment_claim(job=job, worker=worker)
    assert again.item_id == lease.item_id


def test_only_team_members_may_claim(make_job, make_labeler):
    job = make_job(items=1)
    outsider = make_labeler("outsider", on_team=team_create(name="Other team"))
    with pytest.raises(NotAllowed):
        assignment_claim(job=job, worker=outsider)


def test_draft_and_stopped_jobs_offer_nothing(make_job, make_labeler):
    job = make_job(items=1, start=False)
    with pytest.raises(Conflict) as refused:
        assignment_claim(job=job, worker=make_labeler("w1"))
    assert refused.value.code == "job_not_in_progress"


def test_a_job_past_its_availability_lifetime_offers_nothing(make_job, make_labeler):
    job = make_job(items=1)
    job.expires_at = timezone.now() - timedelta(seconds=1)
    job.save(update_fields=["expires_at"])
    with pytest.raises(Conflict) as refused:
        assignment_claim(job=job, worker=make_labeler("w1"))
    assert refused.value.code == "job_expired"
