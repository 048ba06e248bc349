"""What pipelines do on the core's events (``labeling/events.py``), one function per part."""

import json
from typing import Any

from labeling.after_commit import run_safely
from labeling.events import item_consolidated, job_completed, job_started, label_revised
from labeling.models import Assignment, ChainLink
from labeling.pipelines.selectors import earlier_labels
from labeling.pipelines.tasks import (
    chain_children_start_task,
    chain_item_flow_task,
    chain_parent_finished_task,
)
from labeling.task_ui.rendering import register_task_context


# -- chains (p16-chain) -----------------------------------------------------------------------
def _has_children(job_id: int) -> bool:
    return ChainLink.objects.filter(parent_id=job_id).exists()


def chain_after_item_labeled(*, job_id: int, item_id: int, **_: Any) -> None:
    """An item was consolidated or its label revised: pass it on along the job's links."""
    if _has_children(job_id):
        run_safely(
            lambda: chain_item_flow_task.delay(job_id, item_id),
            what=f"enqueuing the chain flow of item {item_id}",
        )


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
    item_consolidated.connect(chain_after_item_labeled, dispatch_uid="chain-item-consolidated")
    label_revised.connect(chain_after_item_labeled, dispatch_uid="chain-label-revised")
    job_completed.connect(chain_after_job_completed, dispatch_uid="chain-job-completed")
    job_started.connect(chain_after_job_started, dispatch_uid="chain-job-started")
    register_task_context(chain_task_context)
