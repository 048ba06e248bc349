"""Pipelines' receivers of the core's events and writes (issue 16), connected in
``LabelingConfig.ready``, one function per part: chained jobs follow their parents, streaming
jobs write their results feed, hooks hold and consolidate items."""

import json
from typing import Any

from django.core.cache import cache
from django.db import connection

from labeling.after_commit import on_commit_safely, run_safely
from labeling.events import item_consolidated, job_completed, job_started, label_revised
from labeling.job_probes import job_probe, register_job_probe
from labeling.models import Assignment, ChainLink, ChainPassage, ItemEvent, JobHooks
from labeling.pipelines.selectors import earlier_labels
from labeling.pipelines.services.hook_queue import hook_consolidation_enqueue, hooks_enqueue_held
from labeling.pipelines.services.stream_deliveries import stream_deliveries_enqueue
from labeling.pipelines.services.stream_events import stream_event_record, stream_events_sequence
from labeling.pipelines.tasks import (
    CHAIN_DRAIN_KEY,
    CHAIN_DRAIN_KEY_SECONDS,
    chain_children_start_task,
    chain_item_flow_task,
    chain_job_drain_task,
    chain_parent_finished_task,
)
from labeling.services.item_holds import items_hold_imported
from labeling.states import ImportStatus
from labeling.task_ui.rendering import register_task_context


def stream_result_on_item_event(sender, *, instance: ItemEvent, created: bool, **kwargs) -> None:
    """Streaming jobs: an item's history row of a result (consolidated, relabeled, expired)
    writes the feed's row in the same transaction; once that commits, the row is numbered and
    its webhook sent. Connected to ItemEvent's ``post_save`` (labeling/apps.py): the feed row
    must be written inside the labeling's transaction, which the after-commit events are not."""
    if not created:
        return
    event = stream_event_record(item_event=instance)
    if event is None:
        return
    job_id = event.job_id
    on_commit_safely(
        lambda: stream_deliveries_enqueue(stream_events_sequence(job_id=job_id)),
        what=f"numbering the results feed of job {job_id}",
    )


# --- Hooks -----------------------------------------------------------------------------------


def job_has_pre_hook(job_id: int) -> bool:
    return JobHooks.objects.filter(job_id=job_id, pre_hook__isnull=False).exists()


# Asked on every consolidation (the takeover) and after it (chains): job probes, answered by
# the submit's first statement (labeling/job_probes.py, issue 20).
CONSOLIDATION_HOOK_PROBE = "pipelines.consolidation_hook"
CHAIN_CHILDREN_PROBE = "pipelines.chain_children"
register_job_probe(
    CONSOLIDATION_HOOK_PROBE,
    f"EXISTS (SELECT 1 FROM {JobHooks._meta.db_table} "
    "WHERE job_id = {job} AND consolidation_hook_id IS NOT NULL)",
)
register_job_probe(
    CHAIN_CHILDREN_PROBE,
    f"EXISTS (SELECT 1 FROM {ChainLink._meta.db_table} WHERE parent_id = {{job}})",
)
_ITEM_WAS_PASSED = f"SELECT 1 FROM {ChainPassage._meta.db_table} WHERE parent_item_id = %s LIMIT 1"


def _probe(sql: str, value: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        return cursor.fetchone() is not None


def job_has_consolidation_hook(job_id: int) -> bool:
    """The consolidation takeover (labeling/services/consolidation.py): such a job's items are
    consolidated by its hook."""
    return job_probe(CONSOLIDATION_HOOK_PROBE, job_id)


def hooks_hold_imported(*, job_id: int, import_id: int, **_: object) -> None:
    """Inside the import's transaction: a job with a pre-annotation hook holds its new items
    until the hook answers for each."""
    if job_has_pre_hook(job_id):
        items_hold_imported(job_id=job_id, import_id=import_id)


def hooks_after_import(*, job_id: int, import_id: int, status: str, **_: object) -> None:
    if status == ImportStatus.SUCCEEDED and job_has_pre_hook(job_id):
        run_safely(
            lambda: hooks_enqueue_held(job_id=job_id),
            what=f"queueing the pre-annotation of job {job_id}",
        )


def hooks_after_answers_complete(*, job_id: int, item_id: int, **_: object) -> None:
    run_safely(
        lambda: hook_consolidation_enqueue(job_id=job_id, item_id=item_id),
        what=f"queueing the consolidation hook of item {item_id}",
    )


# -- chains (p16-chain) -----------------------------------------------------------------------
def _has_children(job_id: int) -> bool:
    return job_probe(CHAIN_CHILDREN_PROBE, job_id)


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
    if _probe(_ITEM_WAS_PASSED, item_id):
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
