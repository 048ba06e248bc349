"""Bulk actions of the data manager: start one over a selection, run it in batches.

A selection is the rows picked on screen (``{"ids": [...]}``, at most ``MAX_PICKED_IDS``) or
every item that matches the data manager's filters (``{"filters": {...}}``), evaluated by the
same selector as the page. The run reads the selection once, in id order, and applies it
``BATCH_SIZE`` items a transaction; the batch and the action's cursor (``last_item_id``)
commit together, so a run started again (a lost worker, a message delivered twice) continues
after the last committed batch and never applies one twice.
"""

from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Lookup, Q
from django.utils import timezone

from labeling.after_commit import on_commit_safely
from labeling.console import selectors
from labeling.data.export_dispatch import export_body
from labeling.data.exports import export_scope
from labeling.errors import Conflict, ValidationFailed
from labeling.models import (
    MAX_WORKERS_PER_ITEM,
    BulkAction,
    BulkActionKind,
    BulkActionStatus,
    ConsolidatedLabel,
    GoldItem,
    Item,
    Job,
    ReviewStatus,
    User,
)
from labeling.quality.services.gold_shapes import scored_by_similarity
from labeling.quality.services.reliability import quality_request_reestimate
from labeling.services.counters import job_counters_add
from labeling.states import ItemStatus, JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class

BULK_ACTION_TASK = "labeling.bulk_action_run"
# Each batch is one transaction (with the action's cursor) and one UPDATE per table with the
# ids as a single array parameter on PostgreSQL: most of a batch's time is PostgreSQL rewriting
# the rows' index entries (the text search's trigram index above all), so bigger batches save
# round trips and commits, not that.
BATCH_SIZE = 10_000
MAX_PICKED_IDS = 1_000
PRIORITY_RANGE = (-1_000_000, 1_000_000)
EXPORTS_DIR = "bulk-exports"
# Statuses in which a job's items may be deleted: nobody has worked on a draft.
DELETABLE_IN = (JobStatus.DRAFT,)
# Statuses in which items may go back for more answers.
REOPENABLE_IN = (JobStatus.DRAFT, JobStatus.IN_PROGRESS)


def _check_params(job: Job, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    if kind == BulkActionKind.PRIORITY:
        value = params.get("priority")
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationFailed("priority is a whole number", details={"field": "priority"})
        low, high = PRIORITY_RANGE
        if not low <= value <= high:
            raise ValidationFailed(
                f"priority is between {low} and {high}", details={"field": "priority"}
            )
        return {"priority": value}
    if kind == BulkActionKind.EXPORT:
        fmt = str(params.get("format") or "manifest")
        export_body(job, fmt=fmt, labeled_only=False)  # raises ValidationFailed if not offered
        return {"format": fmt}
    task_type = get_task_type(job.task_type)
    if (
        kind in (BulkActionKind.GOLD, BulkActionKind.UNGOLD)
        and not answers_one_class(task_type)
        and not scored_by_similarity(task_type)  # drawing and span types (issue 19)
    ):
        raise ValidationFailed(
            f"gold items of a {job.task_type} job come from its gold import: an answer of this "
            "task type is not one class, so a consolidated label can't become a known answer here",
            details={"field": "kind"},
        )
    if kind == BulkActionKind.DELETE and job.status not in DELETABLE_IN:
        raise Conflict(
            f"items of a {job.get_status_display().lower()} job are kept (answers may point to "
            "them); only a draft job's items can be deleted",
            code="job_state",
        )
    if kind == BulkActionKind.MORE_ANSWERS and job.status not in REOPENABLE_IN:
        raise Conflict(
            f"a {job.get_status_display().lower()} job takes no more answers",
            code="job_state",
        )
    return {}


def _check_selection(job: Job, selection: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(selection, dict) or ("ids" in selection) == ("filters" in selection):
        raise ValidationFailed(
            'a selection is {"ids": [...]} or {"filters": {...}}', details={"field": "selection"}
        )
    if "ids" in selection:
        ids = selection["ids"]
        if (
            not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            raise ValidationFailed("ids is a list of item ids", details={"field": "selection.ids"})
        if len(ids) > MAX_PICKED_IDS:
            raise ValidationFailed(
                f"pick at most {MAX_PICKED_IDS} rows; for more, select all that match the filter",
                details={"field": "selection.ids"},
            )
        return {"ids": sorted(set(ids))}
    filters = selection["filters"]
    if not isinstance(filters, dict):
        raise ValidationFailed("filters is an object", details={"field": "selection.filters"})
    query = selectors.item_query_from_params(filters)
    selectors.item_conditions(job=job, filters=query.filters)  # raises on a bad filter
    return {"filters": query.filters}


def _selected(job: Job, selection: dict[str, Any]):
    items = selectors.job_items(job=job, filters=selection.get("filters", {}))
    if "ids" in selection:
        items = items.filter(pk__in=selection["ids"])
    return items


def bulk_action_start(
    *, job: Job, by: User, kind: str, selection: dict[str, Any], params: dict[str, Any]
) -> BulkAction:
    """Check and record a bulk action over a selection of ``job``'s items; a Celery worker
    runs it after the commit (``bulk_action_run``)."""
    if kind not in BulkActionKind.values:
        raise ValidationFailed(
            f"kind is one of {', '.join(BulkActionKind.values)}", details={"field": "kind"}
        )
    params = _check_params(job, kind, params or {})
    selection = _check_selection(job, selection)
    total = _selected(job, selection).count()
    if total == 0:
        raise ValidationFailed("no item of this job is in the selection", code="empty_selection")
    action = BulkAction.objects.create(
        job=job, kind=kind, selection=selection, params=params, total=total, created_by=by
    )
    on_commit_safely(
        lambda: bulk_action_enqueue(action_id=action.pk), what=f"enqueuing bulk action {action.pk}"
    )
    return action


def bulk_action_enqueue(*, action_id: int) -> None:
    # By name: the task module imports this one, never the other way.
    current_app.signature(BULK_ACTION_TASK, args=(action_id,)).apply_async()


def bulk_action_run(*, action_id: int) -> BulkAction | None:
    """Run (or continue) a bulk action to its end; idempotent."""
    started = BulkAction.objects.filter(
        pk=action_id, status__in=[BulkActionStatus.QUEUED, BulkActionStatus.RUNNING]
    ).update(status=BulkActionStatus.RUNNING)
    action = BulkAction.objects.select_related("job").filter(pk=action_id).first()
    if not started or action is None:
        return action
    try:
        if action.kind == BulkActionKind.EXPORT:
            _run_export(action)
        else:
            # The selection is read once, in id order, from after the last committed batch: one
            # pass over the job (a filter re-read per batch would walk it again each time).
            pending = list(
                _selected(action.job, action.selection)
                .filter(id__gt=action.last_item_id)
                .order_by("id")
                .values_list("id", flat=True)
            )
            for start in range(0, len(pending), BATCH_SIZE):
                if not _run_batch(action, pending[start : start + BATCH_SIZE]):
                    break
    except Exception as exc:
        BulkAction.objects.filter(pk=action.pk).update(
            status=BulkActionStatus.FAILED,
            message=f"stopped: {exc}"[:500],
            finished_at=timezone.now(),
        )
        raise
    BulkAction.objects.filter(pk=action.pk, status=BulkActionStatus.RUNNING).update(
        status=BulkActionStatus.SUCCEEDED, finished_at=timezone.now()
    )
    if action.kind in (BulkActionKind.GOLD, BulkActionKind.UNGOLD):
        quality_request_reestimate(job_id=action.job_id)
    action.refresh_from_db()
    return action


def _run_batch(action: BulkAction, ids: list[int]) -> bool:
    """Apply the action to one batch of ids (ascending) in one transaction with the cursor; a
    batch already committed by an earlier run is skipped. False when the run must stop."""
    with transaction.atomic():
        locked = BulkAction.objects.select_for_update().get(pk=action.pk)
        if locked.status != BulkActionStatus.RUNNING:
            return False
        ids = [item_id for item_id in ids if item_id > locked.last_item_id]
        if not ids:
            return True
        job = Job.objects.get(pk=locked.job_id)
        applied = _APPLY[locked.kind](job, ids, locked.params)
        BulkAction.objects.filter(pk=locked.pk).update(
            last_item_id=ids[-1],
            done=F("done") + len(ids),
            skipped=F("skipped") + (len(ids) - applied),
        )
    return True


class _AnyOf(Lookup):
    """``column = ANY(%s)`` with the ids as one array parameter on PostgreSQL (``IN`` with a
    parameter per id elsewhere): one short statement whatever the batch's size."""

    lookup_name = "any_of"

    def __init__(self, lhs, ids: list[int]):
        self.ids = [int(item_id) for item_id in ids]
        super().__init__(lhs, self.ids)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = self.ids
        if not ids:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, ids]
        return f"{lhs} IN ({', '.join(['%s'] * len(ids))})", [*lhs_params, *ids]


def _ids(column: str, ids: list[int]) -> _AnyOf:
    return _AnyOf(F(column), ids)


def _set_priority(job: Job, ids: list[int], params: dict[str, Any]) -> int:
    """Rows that already have the priority are not rewritten (a run started again, or a
    selection partly set before, costs no index maintenance for them)."""
    priority = params["priority"]
    Item.objects.filter(_ids("id", ids)).exclude(priority=priority).update(priority=priority)
    return Item.objects.filter(_ids("id", ids), priority=priority).count()


def _send_to_review(job: Job, ids: list[int], params: dict[str, Any]) -> int:
    """Labeled items go to the job's review queue now; the others when they are consolidated
    (``review_requested``, read by ``consolidated_enter_review``)."""
    Item.objects.filter(_ids("id", ids), review_requested=False).update(review_requested=True)
    ConsolidatedLabel.objects.filter(_ids("item_id", ids)).exclude(
        review_status=ReviewStatus.PENDING
    ).update(review_status=ReviewStatus.PENDING)
    return len(ids)


def _more_answers(job: Job, ids: list[int], params: dict[str, Any]) -> int:
    """One more slot for each item (up to the most workers an item may have); a labeled item
    goes back to the pool and loses its consolidated label until its next answer. Gold items
    keep their known answer."""
    room = MAX_WORKERS_PER_ITEM - job.workers_per_item
    reopen = (
        Item.objects.filter(pk__in=ids, extra_slots__lt=room)
        .exclude(gold__isnull=False)
        .values_list("id", "status")
    )
    rows = list(reopen)
    chosen = [item_id for item_id, _ in rows]
    labeled = [item_id for item_id, status in rows if status == ItemStatus.LABELED]
    if labeled:
        ConsolidatedLabel.objects.filter(item_id__in=labeled).delete()
        job_counters_add(job_id=job.pk, shard_key=0, items_labeled=-len(labeled), answers=0)
    Item.objects.filter(pk__in=chosen).update(
        status=ItemStatus.OPEN, extra_slots=F("extra_slots") + 1
    )
    return len(chosen)


def _mark_gold(job: Job, ids: list[int], params: dict[str, Any]) -> int:
    """Items with a consolidated label become gold with it as their known answer (on a
    drawing or span job, the consolidated value: issue 19 scores answers against it)."""
    structured = scored_by_similarity(get_task_type(job.task_type))
    rows = ConsolidatedLabel.objects.filter(item_id__in=ids).exclude(item__gold__isnull=False)
    if not structured:
        rows = rows.exclude(label="")
    labeled = [
        (item_id, label, value if structured else {})
        for item_id, label, value in rows.values_list("item_id", "label", "value")
    ]
    GoldItem.objects.bulk_create(
        [
            GoldItem(item_id=item_id, job_id=job.pk, label=label, answer=value)
            for item_id, label, value in labeled
        ],
        ignore_conflicts=True,
    )
    ConsolidatedLabel.objects.filter(item_id__in=[item_id for item_id, _, _ in labeled]).update(
        method="gold", confidence=1.0
    )
    already = GoldItem.objects.filter(item_id__in=ids).count() - len(labeled)
    return len(labeled) + already


def _unmark_gold(job: Job, ids: list[int], params: dict[str, Any]) -> int:
    GoldItem.objects.filter(job_id=job.pk, item_id__in=ids).delete()
    return len(ids)


def _delete(job: Job, ids: list[int], params: dict[str, Any]) -> int:
    current = Job.objects.select_for_update().get(pk=job.pk)
    if current.status not in DELETABLE_IN:
        raise Conflict(f"the job is {current.get_status_display().lower()} now: items are kept")
    labeled = Item.objects.filter(pk__in=ids, status=ItemStatus.LABELED).count()
    deleted = Item.objects.filter(pk__in=ids).count()
    Item.objects.filter(pk__in=ids).delete()
    Job.objects.filter(pk=job.pk).update(items_total=F("items_total") - deleted)
    if labeled:
        job_counters_add(job_id=job.pk, shard_key=0, items_labeled=-labeled, answers=0)
    return deleted


_APPLY = {
    BulkActionKind.PRIORITY: _set_priority,
    BulkActionKind.REVIEW: _send_to_review,
    BulkActionKind.MORE_ANSWERS: _more_answers,
    BulkActionKind.GOLD: _mark_gold,
    BulkActionKind.UNGOLD: _unmark_gold,
    BulkActionKind.DELETE: _delete,
}


def _run_export(action: BulkAction) -> None:
    """Write the selection in the chosen format to a file (a run started again rewrites it)."""
    job = action.job
    selection = action.selection
    conditions = selectors.item_conditions(job=job, filters=selection.get("filters", {}))
    if "ids" in selection:
        conditions.append(Q(pk__in=selection["ids"]))
    with export_scope(*conditions):
        body = export_body(job, fmt=action.params.get("format", "manifest"), labeled_only=False)
        relative = Path(EXPORTS_DIR) / f"{action.pk}-{job.label_attribute_name}.{body.suffix}"
        path = Path(settings.MEDIA_ROOT) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for chunk in body.chunks:
                out.write(chunk if isinstance(chunk, bytes) else chunk.encode())
    BulkAction.objects.filter(pk=action.pk).update(
        done=action.total, last_item_id=0, result_path=str(relative)
    )
