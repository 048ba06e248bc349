"""Celery tasks of the labeling core: thin, named, idempotent; the work is in services."""

from celery import shared_task

from labeling.services.assignments import assignments_expire_due
from labeling.services.jobs import jobs_complete_finished, jobs_stop_expired


@shared_task(name="labeling.assignments_expire_due", acks_late=True, time_limit=120)
def assignments_expire_due_task() -> dict[str, int]:
    """Periodic: give the slots of leases that ran out back to their items."""
    return {
        "leases_expired": assignments_expire_due(),
        "jobs_stopped": jobs_stop_expired(),
        "jobs_completed": jobs_complete_finished(),
    }
