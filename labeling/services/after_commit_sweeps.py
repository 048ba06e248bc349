"""Backstops of after-commit work a broker or cache outage lost: re-estimations asked for by
submits, and imports whose message never reached a worker (labeling/after_commit.py).
"""

from datetime import datetime, timedelta

from celery import current_app
from django.db.models import Q
from django.utils import timezone

from labeling.models import ConsolidatedLabel, ImportRun, Job, JobQualityEstimate
from labeling.services.imports import IMPORT_RUN_TASK
from labeling.services.quality import REESTIMATE_TASK
from labeling.states import ImportStatus, JobStatus

# Labels older than this (the debounced run comes 5 s after them) and newer than the start of
# the job's last re-estimation lost theirs. Completed jobs are looked at for a day.
SETTLED_SECONDS = 60
COMPLETED_WITHIN = timedelta(days=1)
MAX_JOBS = 500
# A run still queued this long after its upload lost its message; a run claims itself once,
# so a second message is harmless.
REQUEUE_QUEUED_AFTER = timedelta(minutes=2)
REQUEUE_BATCH_SIZE = 100


def quality_reestimates_due(*, now: datetime | None = None) -> list[int]:
    """Jobs with settled human labels newer than the start of their last re-estimation."""
    now = now or timezone.now()
    settled = now - timedelta(seconds=SETTLED_SECONDS)
    jobs = list(
        Job.objects.filter(
            Q(status=JobStatus.IN_PROGRESS)
            | Q(status=JobStatus.COMPLETED, finished_at__gte=now - COMPLETED_WITHIN)
        ).values_list("pk", flat=True)[:MAX_JOBS]
    )
    last_runs = {
        job_id: computed_at - timedelta(seconds=seconds)
        for job_id, computed_at, seconds in JobQualityEstimate.objects.filter(
            job_id__in=jobs
        ).values_list("job_id", "computed_at", "seconds")
    }
    due = []
    for job_id in jobs:
        labels = ConsolidatedLabel.objects.filter(
            job_id=job_id, human_annotated=True, created_at__lte=settled
        )
        if job_id in last_runs:
            labels = labels.filter(created_at__gt=last_runs[job_id])
        if labels.exists():
            due.append(job_id)
    return due


def quality_reestimates_sweep(*, now: datetime | None = None) -> list[int]:
    """Enqueue the re-estimations whose request after a submit was lost."""
    due = quality_reestimates_due(now=now)
    for job_id in due:
        current_app.signature(REESTIMATE_TASK, args=(job_id,)).apply_async()
    return due


def imports_requeue_lost(*, now: datetime | None = None) -> list[int]:
    """Send again the queued imports whose message was lost."""
    now = now or timezone.now()
    lost = list(
        ImportRun.objects.filter(
            status=ImportStatus.QUEUED, created_at__lte=now - REQUEUE_QUEUED_AFTER
        ).values_list("pk", flat=True)[:REQUEUE_BATCH_SIZE]
    )
    for run_id in lost:
        current_app.signature(IMPORT_RUN_TASK, args=(run_id,)).apply_async()
    return lost
