"""What pipelines do on the core's events (``labeling/events.py``), one function per part."""

import json
from typing import Any

from django.core.cache import cache

from labeling.after_commit import run_safely
from labeling.events import item_consolidated, job_completed, job_started, label_revised
from labeling.models import Assignment, ChainLink, ChainPassage
from labeling.pipelines.selectors import earlier_labels
from labeling.pipelines.tasks import (
    CHAIN_DRAIN_KEY,
    CHAIN_DRAIN_KEY_SECONDS,
    chain_children_start_task,
    chain_item_flow_task,
    chain_job_drain_task,
    chain_parent_finished_task,
)
from labeling.task_ui.rendering import register_task_context


# -- chains (p16-chain) -----------------------------------------------------------------------
def _has_children(job_id: int) -> bool:
    return ChainLink.objects.filter(parent_id=job_id).exists()


def chain_after_item_labeled(*, job_id: int, item_id: int, **_: Any) -> None:
    """An item's label was revised: bring its passages up to date (it may move)."""
    if _has_children(job_id):
        run_safely(
            lambda: chain_item_flow_task.delay(job_id, item_id),
            what=f"enqueuing the chain flow of item {item_id}",
        )


def chain_after_item_consolidated(*, job_id: int, item_id: int, **_: Any) -> None:
    """An item was consolidated: a new one joins the job's drain (one queued task passes a
    burst of them); one passed before was relabeled and is redone on its own."""
    if not _has_children(job_id):
        return
    if ChainPassage.objects.filter(parent_item_id=item_id).exists():
        chain_after_item_labeled(job_id=job_id, item_id=item_id)
        return
    run_safely(lambda: _drain_once(job_id, item_id), what=f"enqueuing the drain of job {job_id}")


def _drain_once(job_id: int, item_id: int) -> None:
    try:
        queued = not cache.add(CHAIN_DRAIN_KEY.format(job_id=job_id), 1, CHAIN_DRAIN_KEY_SECONDS)
    except Exception:  # noqa: BLE001 - no cache: the item's own task, as before
        chain_item_flow_task.delay(job_id, item_id)
        return
    if not queued:
        chain_job_drain_task.delay(job_id)


def chain_after_job_completed(*, job_id: int, **_: Any) -> None:
    if _has_children(job_id):
        run_safely(
            lambda: chain_parent_finished_task.delay(job_id),
            what=f"enqueuing the chain completion after job {job_id}",
        )


def chain_after_job_started(*, job_id: int, **_: Any) -> None:
    if _has_children(job_id):
        run_safely(
            lambda: chain_children_start_task.delay(job_id),
            what=f"enqueuing the start of job {job_id}'s chained jobs",
        )


def chain_task_context(assignment: Assignment) -> dict[str, Any]:
    """``task.earlier_labels`` of the task page: what earlier jobs of a chain said."""
    line = json.loads(assignment.item.data)
    return {
        "earlier_labels": earlier_labels(
            line=line, own_attribute=assignment.job.label_attribute_name
        )
    }


def chain_receivers_connect() -> None:
    """Called once from ``LabelingConfig.ready()``."""
    item_consolidated.connect(chain_after_item_consolidated, dispatch_uid="chain-item-consolidated")
    label_revised.connect(chain_after_item_labeled, dispatch_uid="chain-label-revised")
    job_completed.connect(chain_after_job_completed, dispatch_uid="chain-job-completed")
    job_started.connect(chain_after_job_started, dispatch_uid="chain-job-started")
    register_task_context(chain_task_context)
