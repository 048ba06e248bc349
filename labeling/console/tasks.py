"""Celery tasks of the console: bulk actions and thumbnails (thin; the work is in services)."""

from celery import shared_task

from labeling.console.services.bulk import BULK_ACTION_TASK, bulk_action_run
from labeling.console.services.thumbnails import THUMBNAIL_BATCH, item_thumbnails_make

THUMBNAILS_TASK = "labeling.item_thumbnails_make"


@shared_task(name=BULK_ACTION_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def bulk_action_run_task(action_id: int) -> str:
    action = bulk_action_run(action_id=action_id)
    return action.status if action else "missing"


@shared_task(name=THUMBNAILS_TASK, acks_late=True, soft_time_limit=240, time_limit=300)
def item_thumbnails_make_task(job_id: int) -> int:
    """One batch; a full batch enqueues the next, so no run holds a worker for long."""
    settled = item_thumbnails_make(job_id=job_id)
    if settled == THUMBNAIL_BATCH:
        item_thumbnails_make_task.delay(job_id)
    return settled
