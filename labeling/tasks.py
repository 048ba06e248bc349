"""Celery tasks of the labeling core: thin, named, idempotent; the work is in services."""

from celery import shared_task

from labeling.services.assignments import assignments_expire_due
from labeling.services.item_text import ITEM_TEXT_FILL_TASK, item_text_fill
from labeling.services.jobs import jobs_complete_finished, jobs_stop_expired


@shared_task(name="labeling.assignments_expire_due", acks_late=True, time_limit=120)
def assignments_expire_due_task() -> dict[str, int]:
    """Periodic: give the slots of leases that ran out back to their items."""
    return {
        "leases_expired": assignments_expire_due(),
        "jobs_stopped": jobs_stop_expired(),
        "jobs_completed": jobs_complete_finished(),
    }


# Batches one run writes before it hands the rest to a new run (no run holds a worker long).
ITEM_TEXT_BATCHES_PER_RUN = 20


@shared_task(name=ITEM_TEXT_FILL_TASK, acks_late=True, soft_time_limit=240, time_limit=300)
def item_text_fill_task() -> int:
    """After items are created, and periodically as the backstop: write the search text of the
    backlog's items, a batch per transaction."""
    covered = 0
    for _ in range(ITEM_TEXT_BATCHES_PER_RUN):
        ids = item_text_fill()
        if ids == 0:
            return covered
        covered += ids
    item_text_fill_task.delay()
    return covered
