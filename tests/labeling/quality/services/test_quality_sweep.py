"""A re-estimation whose run or message was lost is asked for again by the sweep."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from labeling.models import JobQualityEstimate
from labeling.quality.services.reliability import job_quality_reestimate
from labeling.quality.services.sweep import SETTLED_AFTER, quality_sweep_stale
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db


def _answer(job, worker, label: str = "dog") -> None:
    lease = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def test_a_job_answered_after_its_last_estimate_is_re_estimated_by_the_sweep(
    make_job, labeler, django_capture_on_commit_callbacks
):
    job = make_job(items=3, workers_per_item=1)
    cache.delete(f"quality:reestimate:{job.pk}")
    _answer(job, labeler)
    # The request of this answer is lost (its on-commit hook never runs in this test, as
    # if the worker running it had died): the sweep finds the job without an estimate.
    settled = timezone.now() + SETTLED_AFTER + timedelta(seconds=1)
    assert quality_sweep_stale(now=timezone.now()) == 0  # not settled yet: the usual path's
    with django_capture_on_commit_callbacks(execute=True):
        assert quality_sweep_stale(now=settled) == 1
    assert JobQualityEstimate.objects.get(job=job).answers_used == 1

    _answer(job, labeler, "cat")  # again lost
    cache.delete(f"quality:reestimate:{job.pk}")  # the debounce key of the run above expired
    later = timezone.now() + SETTLED_AFTER + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert quality_sweep_stale(now=later) == 1
    assert JobQualityEstimate.objects.get(job=job).answers_used == 2
    assert quality_sweep_stale(now=later) == 0  # up to date now


def test_a_job_whose_estimate_is_current_is_left_alone(make_job, labeler):
    job = make_job(items=2, workers_per_item=1)
    _answer(job, labeler)
    job_quality_reestimate(job_id=job.pk)
    assert quality_sweep_stale(now=timezone.now() + timedelta(hours=1)) == 0
