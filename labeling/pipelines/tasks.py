"""Celery tasks of pipelines (thin; the work is in ``services/``)."""

from celery import shared_task

from labeling.pipelines.services.hook_queue import (
    HOOK_CONSOLIDATE_TASK,
    HOOK_PRE_TASK,
    HOOK_SWEEP_TASK,
    hooks_sweep,
)
from labeling.pipelines.services.hook_runs import consolidation_run, pre_annotation_run

# --- Hooks -----------------------------------------------------------------------------------


@shared_task(name=HOOK_PRE_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def pipelines_hook_pre(job_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Pre-annotate a job's held items with ids in [first_id, last_id] (idempotent)."""
    return pre_annotation_run(job_id=job_id, first_id=first_id, last_id=last_id)


@shared_task(
    name=HOOK_CONSOLIDATE_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60
)
def pipelines_hook_consolidate(job_id: int, item_id: int) -> str:
    """Consolidate an item by its job's consolidation hook (idempotent)."""
    return consolidation_run(job_id=job_id, item_id=item_id)


@shared_task(name=HOOK_SWEEP_TASK, acks_late=True, time_limit=300)
def pipelines_hook_sweep() -> dict[str, int]:
    """Periodic: queue again hook work whose message was lost."""
    return hooks_sweep()
