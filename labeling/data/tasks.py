"""Celery tasks of data in and out: import runs, job outputs, their sweeps (thin; the work is in
services)."""

from celery import shared_task

from labeling.data.services.import_lifecycle import IMPORT_RUN_TASK, imports_sweep
from labeling.data.services.imports import import_run
from labeling.data.services.outputs import (
    JOB_OUTPUT_WRITE_TASK,
    STORAGE_WRITES_FLUSH_TASK,
    job_output_write,
    storage_outputs_sweep,
    storage_writes_flush,
)


@shared_task(name=IMPORT_RUN_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def import_run_task(import_id: int) -> str:
    run = import_run(import_id=import_id)
    return run.status if run else "missing"


@shared_task(name="labeling.imports_sweep", acks_late=True, time_limit=300)
def imports_sweep_task() -> dict[str, int]:
    """Periodic: run again, or fail, imports whose worker was lost; resend lost messages."""
    return imports_sweep()


@shared_task(
    name=JOB_OUTPUT_WRITE_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60
)
def job_output_write_task(job_id: int) -> dict:
    """Write what is new of a job's results to its S3OutputPath (idempotent)."""
    return job_output_write(job_id=job_id)


@shared_task(name=STORAGE_WRITES_FLUSH_TASK, acks_late=True, time_limit=300)
def storage_writes_flush_task() -> dict[str, int]:
    """Write the storage outbox's due rows (review loops' output documents)."""
    return storage_writes_flush()


@shared_task(name="labeling.storage_outputs_sweep", acks_late=True, time_limit=30 * 60)
def storage_outputs_sweep_task() -> dict[str, int]:
    """Periodic: outbox rows and job outputs that are due, retried after a storage outage."""
    return storage_outputs_sweep()
