"""Pipelines' Celery tasks (issue 16): thin, named, idempotent; the work is in services."""

from celery import shared_task
from django.core.cache import cache

from labeling.pipelines.services.chains import (
    chain_children_start,
    chain_item_flow,
    chain_job_drain,
    chain_links_sweep,
    chain_parent_finished,
)
from labeling.pipelines.services.hook_queue import (
    HOOK_CONSOLIDATE_TASK,
    HOOK_PRE_TASK,
    HOOK_SWEEP_TASK,
    hooks_sweep,
)
from labeling.pipelines.services.hook_runs import consolidation_run, pre_annotation_run
from labeling.pipelines.services.stream_deliveries import (
    STREAM_DELIVER_TASK,
    stream_deliveries_enqueue,
    stream_deliveries_overdue,
    stream_delivery_enqueue,
    stream_delivery_send,
)
from labeling.pipelines.services.stream_events import (
    stream_events_sequence,
    stream_jobs_unsequenced,
)
from labeling.pipelines.services.streaming import stream_items_expire

STREAM_SWEEP_TASK = "labeling.pipelines_stream_sweep"
# A row still unnumbered this long after it was written lost its after-commit sequencer.
UNSEQUENCED_GRACE_SECONDS = 5


@shared_task(name=STREAM_DELIVER_TASK, acks_late=True, soft_time_limit=60, time_limit=90)
def stream_deliver_task(event_id: int) -> str:
    """One attempt at a feed row's webhook; a failed one schedules the next after its wait,
    an ended one sends the item's next row."""
    outcome = stream_delivery_send(event_id=event_id)
    if outcome.next_event_id is not None:
        stream_delivery_enqueue(outcome.next_event_id)
    if outcome.retry_in is None:
        return "done"
    stream_delivery_enqueue(event_id, countdown=outcome.retry_in)
    return f"again in {outcome.retry_in:.1f}s"


@shared_task(name=STREAM_SWEEP_TASK, acks_late=True, time_limit=300)
def stream_sweep_task() -> dict[str, int]:
    """Periodic: expire items past their lifetime, number rows whose sequencer was lost, and
    resend deliveries whose message was lost."""
    counts = stream_items_expire()
    numbered = 0
    for job_id in stream_jobs_unsequenced(older_than_seconds=UNSEQUENCED_GRACE_SECONDS):
        ids = stream_events_sequence(job_id=job_id)
        numbered += len(ids)
        stream_deliveries_enqueue(ids)
    overdue = stream_deliveries_overdue()
    stream_deliveries_enqueue(overdue)
    counts.update(numbered=numbered, resent=len(overdue))
    return counts


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


# -- chains (p16-chain) -----------------------------------------------------------------------
CHAIN_ITEM_FLOW_TASK = "labeling.chain_item_flow"
CHAIN_PARENT_FINISHED_TASK = "labeling.chain_parent_finished"
CHAIN_CHILDREN_START_TASK = "labeling.chain_children_start"
CHAIN_SWEEP_TASK = "labeling.chain_links_sweep"
CHAIN_DRAIN_TASK = "labeling.chain_job_drain"
# Set while a drain of the job is queued: consolidations meanwhile need no task of their own.
CHAIN_DRAIN_KEY = "chain-drain:{job_id}"
CHAIN_DRAIN_KEY_SECONDS = 60


@shared_task(name=CHAIN_ITEM_FLOW_TASK, acks_late=True, soft_time_limit=60, time_limit=90)
def chain_item_flow_task(job_id: int, item_id: int) -> dict[str, str]:
    return chain_item_flow(job_id=job_id, item_id=item_id)


@shared_task(name=CHAIN_PARENT_FINISHED_TASK, acks_late=True, soft_time_limit=60, time_limit=90)
def chain_parent_finished_task(job_id: int) -> list[int]:
    return chain_parent_finished(job_id=job_id)


@shared_task(name=CHAIN_CHILDREN_START_TASK, acks_late=True, soft_time_limit=60, time_limit=90)
def chain_children_start_task(job_id: int) -> list[int]:
    return chain_children_start(job_id=job_id)


@shared_task(name=CHAIN_SWEEP_TASK, acks_late=True, soft_time_limit=240, time_limit=300)
def chain_links_sweep_task() -> int:
    return chain_links_sweep()


@shared_task(name=CHAIN_DRAIN_TASK, acks_late=True, soft_time_limit=240, time_limit=300)
def chain_job_drain_task(job_id: int) -> int:
    # Cleared first: an item consolidated from now on queues a drain again (its event comes
    # after its commit, so this drain or the next one sees it).
    cache.delete(CHAIN_DRAIN_KEY.format(job_id=job_id))
    return chain_job_drain(job_id=job_id)
