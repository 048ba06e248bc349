"""Queueing hook work on Celery, by task name (the tasks live in ``labeling/pipelines/tasks.py``),
and the periodic sweep that queues again what lost its message."""

from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from labeling.models import HookItemStatus, Item, JobHooks
from labeling.states import ImportStatus, ItemStatus

HOOK_PRE_TASK = "labeling.pipelines_hook_pre"
HOOK_CONSOLIDATE_TASK = "labeling.pipelines_hook_consolidate"
HOOK_SWEEP_TASK = "labeling.pipelines_hook_sweep"


def hooks_enqueue_held(*, job_id: int) -> int:
    """Queue the pre-annotation of a job's held items, ``QUORUM_HOOK_CHUNK_ITEMS`` per task
    (by id range); return the number of tasks."""
    ids = list(
        Item.objects.filter(job_id=job_id, status=ItemStatus.HELD)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    size = max(1, settings.QUORUM_HOOK_CHUNK_ITEMS)
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
    for chunk in chunks:
        current_app.signature(HOOK_PRE_TASK, args=(job_id, chunk[0], chunk[-1])).delay()
    return len(chunks)


def hook_consolidation_enqueue(*, job_id: int, item_id: int) -> None:
    current_app.signature(HOOK_CONSOLIDATE_TASK, args=(job_id, item_id)).delay()


# Work older than this that is still waiting for its hook lost its message (a broker outage
# at enqueue time, a worker lost mid-task): the sweep queues it again (idempotent tasks).
HOOK_SWEEP_GRACE_SECONDS = 600
HOOK_SWEEP_MAX_ITEMS = 5000


def hooks_sweep(*, now=None) -> dict[str, int]:
    """Periodic backstop: queue again the pre-annotation of items still held long after their
    import finished, and the consolidation of items whose answers are long complete."""
    now = now or timezone.now()
    before = now - timedelta(seconds=HOOK_SWEEP_GRACE_SECONDS)
    pre_jobs = set(
        Item.objects.filter(
            status=ItemStatus.HELD,
            import_run__status=ImportStatus.SUCCEEDED,
            import_run__finished_at__lt=before,
        )
        .values_list("job_id", flat=True)
        .distinct()
    )
    chunks = sum(hooks_enqueue_held(job_id=job_id) for job_id in pre_jobs)
    # The jobs first (a handful of rows), then their items by the job's index: asked of the
    # items of every job, the planner walked all open items of all jobs, every two minutes
    # (1.6 s of PostgreSQL per run on a 100,000-item job without hooks; issue 20).
    hooked_jobs = list(
        JobHooks.objects.filter(consolidation_hook__isnull=False).values_list("job_id", flat=True)
    )
    if not hooked_jobs:
        return {"pre_chunks": chunks, "consolidations": 0}
    waiting = (
        Item.objects.filter(
            job_id__in=hooked_jobs,
            status=ItemStatus.OPEN,
            answers__gte=F("job__workers_per_item"),
            consolidated__isnull=True,
        )
        .exclude(hook_state__consolidation_status__in=(HookItemStatus.DONE, HookItemStatus.FAILED))
        .exclude(annotations__submitted_at__gte=before)
        .values_list("job_id", "pk")[:HOOK_SWEEP_MAX_ITEMS]
    )
    queued = 0
    for job_id, item_id in waiting:
        hook_consolidation_enqueue(job_id=job_id, item_id=item_id)
        queued += 1
    return {"pre_chunks": chunks, "consolidations": queued}
