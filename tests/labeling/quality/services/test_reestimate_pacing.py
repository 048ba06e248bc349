"""Issue 20: re-estimation of a big job is paced by its own cost, so it cannot take a whole
Celery worker (and steady database reads) as the job grows."""

from unittest import mock

import pytest
from django.core.cache import cache

from labeling.models import JobQualityEstimate
from labeling.quality.services import reliability
from labeling.quality.services.reliability import REESTIMATE_TASK, quality_reestimate_paced
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered_job(make_job, labeler):
    job = make_job(items=2, workers_per_item=1)
    for _ in range(2):
        lease = assignment_claim(job=job, worker=labeler)
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "dog"})
    for key in (f"quality:reestimate:{job.pk}", f"quality:reestimate:until:{job.pk}"):
        cache.delete(key)
    return job


def test_a_long_run_puts_the_next_one_off_by_a_multiple_of_its_cost(answered_job, monkeypatch):
    job = answered_job
    # Every run counts as long: its cooldown is well beyond the debounce window.
    monkeypatch.setattr(reliability, "REESTIMATE_COOLDOWN_FACTOR", 1e6)
    estimate, put_off = quality_reestimate_paced(job_id=job.pk)
    assert estimate is not None and put_off == 0
    first = JobQualityEstimate.objects.get(job=job).computed_at
    with mock.patch("celery.canvas.Signature.apply_async", autospec=True) as send:
        estimate, put_off = quality_reestimate_paced(job_id=job.pk)
    assert estimate is None and put_off > reliability.REESTIMATE_DEBOUNCE_SECONDS
    # Not run: one run is queued for the end of the cooldown, and the debounce key is held
    # so that answers meanwhile queue no other.
    assert JobQualityEstimate.objects.get(job=job).computed_at == first
    ((call),) = send.call_args_list
    signature = call.args[0]
    assert (signature.task, tuple(signature.args)) == (REESTIMATE_TASK, (job.pk,))
    assert call.kwargs["countdown"] == pytest.approx(put_off, rel=0.01)
    assert cache.get(f"quality:reestimate:{job.pk}")
    # Run eagerly (tests, the embedded runtime's eager mode) it is never put off.
    estimate, put_off = quality_reestimate_paced(job_id=job.pk, eager=True)
    assert estimate is not None and put_off == 0


def test_a_short_run_leaves_no_cooldown(answered_job):
    job = answered_job
    estimate, put_off = quality_reestimate_paced(job_id=job.pk)
    assert estimate is not None and put_off == 0
    assert cache.get(f"quality:reestimate:until:{job.pk}") is None
    estimate, put_off = quality_reestimate_paced(job_id=job.pk)
    assert estimate is not None and put_off == 0
