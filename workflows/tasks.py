"""Celery tasks of the workflows app: thin, named, idempotent; the work is in services."""

from celery import shared_task

from workflows.services.loops import (
    HUMAN_LOOP_FINISH_STOP_TASK,
    human_loop_finish_stop,
    human_loops_sweep,
)
from workflows.services.webhooks import (
    WEBHOOK_DELIVER_TASK,
    deliveries_due,
    delivery_send,
    enqueue_delivery,
)


@shared_task(
    name=WEBHOOK_DELIVER_TASK, bind=True, acks_late=True, soft_time_limit=60, time_limit=90
)
def webhook_deliver_task(self, delivery_pk: int) -> str:
    """One attempt at a delivery; a failed one schedules the next after its backoff."""
    retry_in = delivery_send(delivery_pk=delivery_pk)
    if retry_in is None:
        return "done"
    enqueue_delivery(delivery_pk, countdown=retry_in)
    return f"retry in {retry_in:.0f}s"


@shared_task(name=HUMAN_LOOP_FINISH_STOP_TASK, acks_late=True, time_limit=60)
def human_loop_finish_stop_task(loop_id: int) -> str:
    loop = human_loop_finish_stop(loop_id=loop_id)
    return loop.status if loop else "nothing to do"


@shared_task(name="workflows.human_loops_sweep", acks_late=True, time_limit=300)
def human_loops_sweep_task() -> dict[str, int]:
    """Periodic: fail loops past their lifetime, repair lost events, resend lost deliveries."""
    counts = human_loops_sweep()
    due = deliveries_due()
    for delivery_pk in due:
        enqueue_delivery(delivery_pk)
    counts["deliveries_resent"] = len(due)
    return counts
