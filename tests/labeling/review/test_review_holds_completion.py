"""A job with a review stage completes only once no label waits for a reviewer (issue 14,
round 2): its last review completes it; a job without one completes at its last label."""

import pytest

from labeling.models import Item, Job
from labeling.review.services.reviews import job_review_configure, review_accept, review_fix
from labeling.services.jobs import job_complete_if_done
from tests.labeling.review.test_review_flow import _answer

pytestmark = pytest.mark.django_db


def _status(job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def test_labels_waiting_for_review_hold_the_job_until_the_last_review(
    make_job, make_labeler, manager
):
    job = make_job(items=2, workers_per_item=1)
    job_review_configure(job=job, mode="all")
    worker = make_labeler("w1")
    _answer(job, worker, "cat")
    _answer(job, worker, "cat")
    first, second = Item.objects.filter(job=job).order_by("id")
    assert Item.objects.filter(job=job, status="labeled").count() == 2
    assert _status(job) == "in_progress"  # every item labeled, two labels wait for review
    assert job_complete_if_done(job_id=job.pk) is False  # nor does the sweep complete it
    review_accept(job=job, item_id=first.pk, reviewer=manager)
    assert _status(job) == "in_progress"
    review_fix(job=job, item_id=second.pk, reviewer=manager, answer={"label": "dog"})
    assert _status(job) == "completed"


def test_a_job_without_a_review_stage_completes_at_its_last_label(make_job, make_labeler):
    job = make_job(items=1, workers_per_item=1)
    _answer(job, make_labeler("w1"), "cat")
    assert _status(job) == "completed"
