"""Celery tasks of data in and out: import runs and their sweep (thin; the work is in services)."""

from celery import shared_task

from labeling.data.services.imports import IMPORT_RUN_TASK, import_run, imports_sweep


@shared_task(name=IMPORT_RUN_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def import_run_task(import_id: int) -> str:
    run = import_run(import_id=import_id)
    return run.status if run else "missing"


@shared_task(name="labeling.imports_sweep", acks_late=True, time_limit=300)
def imports_sweep_task() -> dict[str, int]:
    """Periodic: run again, or fail, imports whose worker was lost; resend lost messages."""
    return imports_sweep()
