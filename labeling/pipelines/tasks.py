"""Celery tasks of pipelines (thin; the work is in ``services/``)."""

from celery import shared_task
from django.core.cache import cache

from labeling.pipelines.services.chains import (
    chain_children_start,
    chain_item_flow,
    chain_job_drain,
    chain_links_sweep,
    chain_parent_finished,
)

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
