"""The sweep that redoes after-commit work a broker or cache outage lost: re-estimations asked
for by submits, and imports whose message never reached a worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import ConsolidatedLabel, ImportRun, JobQualityEstimate
from labeling.services.after_commit_sweeps import imports_requeue_lost, quality_reestimates_due
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.imports import import_stage_manifest
from labeling.services.quality import job_quality_reestimate
from labeling.states import ImportStatus

pytestmark = pytest.mark.django_db


def _label_one(job, worker):
    lease = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "dog"})


def test_a_job_is_due_only_for_settled_labels_newer_than_its_last_run(make_job, labeler):
    job = make_job(items=2)
    JobQualityEstimate.objects.filter(job=job).delete()  # as if the request had been lost
    _label_one(job, labeler)
    JobQualityEstimate.objects.filter(job=job).delete()
    now = timezone.now()
    assert quality_reestimates_due(now=now) == []  # the debounced run may still come
    assert quality_reestimates_due(now=now + timedelta(minutes=2)) == [job.pk]

    job_quality_reestimate(job_id=job.pk)  # the sweep's run (or the lost one, late)
    assert quality_reestimates_due(now=timezone.now() + timedelta(minutes=2)) == []

    ConsolidatedLabel.objects.filter(job=job).update(created_at=timezone.now())
    assert quality_reestimates_due(now=timezone.now() + timedelta(minutes=2)) == [job.pk]


def test_a_job_without_human_labels_is_never_due(make_job):
    make_job(items=2)
    assert quality_reestimates_due(now=timezone.now() + timedelta(minutes=2)) == []


def test_a_queued_import_whose_message_was_lost_is_sent_again_and_runs(
    make_job, manager, django_capture_on_commit_callbacks
):
    job = make_job(items=0, start=False)
    with django_capture_on_commit_callbacks(execute=False):  # the enqueue is lost
        run = import_stage_manifest(job=job, created_by=manager, chunks=[b'{"source": "a"}\n'])
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.QUEUED
    assert imports_requeue_lost(now=timezone.now()) == []  # not yet: it may still be on its way
    assert imports_requeue_lost(now=timezone.now() + timedelta(minutes=3)) == [run.pk]
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.SUCCEEDED  # Celery eager
    assert imports_requeue_lost(now=timezone.now() + timedelta(minutes=3)) == []
