"""Celery tasks of pipelines (thin; the work is in ``services/``)."""

from celery import shared_task

from labeling.pipelines.services.chains import (
    chain_children_start,
    chain_item_flow,
    chain_links_sweep,
    chain_parent_finished,
)

# -- chains (p16-chain) -----------------------------------------------------------------------
CHAIN_ITEM_FLOW_TASK = "labeling.chain_item_flow"
CHAIN_PARENT_FINISHED_TASK = "labeling.chain_parent_finished"
CHAIN_CHILDREN_START_TASK = "labeling.chain_children_start"
CHAIN_SWEEP_TASK = "labeling.chain_links_sweep"


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
