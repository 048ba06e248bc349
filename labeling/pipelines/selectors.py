"""Pipelines' reads (issue 16): streaming jobs' settings, counts and results feed; a job's
hooks, their calls and the items they hold or failed."""

import json
from typing import Any

from django.db.models import Count, Q, QuerySet

from labeling.models import (
    Assignment,
    HookCall,
    HookItem,
    HookItemStatus,
    Item,
    JobHooks,
    StreamEvent,
    StreamItem,
    StreamSettings,
)
from labeling.states import ItemStatus
from labeling.task_ui.selectors import job_custom_source


def stream_of(*, job_id: int) -> StreamSettings | None:
    return StreamSettings.objects.filter(job_id=job_id).first()


def job_is_streaming(*, job_id: int) -> bool:
    return StreamSettings.objects.filter(job_id=job_id).exists()


def stream_counts(*, job_id: int) -> dict[str, int]:
    """Items posted (with a client key), expired, and feed rows and their deliveries."""
    items = StreamItem.objects.filter(job_id=job_id).aggregate(
        posted=Count("pk"), expired=Count("pk", filter=~Q(expired_at=None))
    )
    events = StreamEvent.objects.filter(job_id=job_id).aggregate(
        results=Count("pk", filter=~Q(kind="expired")),
        delivered=Count("pk", filter=Q(delivery_status="succeeded")),
        delivery_pending=Count("pk", filter=Q(delivery_status="pending")),
        delivery_failed=Count("pk", filter=Q(delivery_status="failed")),
    )
    return {
        "items_posted": items["posted"],
        "items_expired": items["expired"],
        "results": events["results"],
        "deliveries_succeeded": events["delivered"],
        "deliveries_pending": events["delivery_pending"],
        "deliveries_failed": events["delivery_failed"],
    }


def stream_expired_count(*, job_id: int) -> int:
    return StreamItem.objects.filter(job_id=job_id).exclude(expired_at=None).count()


def stream_results_after(*, job_id: int, after: int, limit: int) -> list[tuple[int, str]]:
    """(seq, body) of the feed's rows after the place ``after``, in order."""
    return list(
        StreamEvent.objects.filter(job_id=job_id, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "body")[:limit]
    )


def stream_has_results_after(*, job_id: int, after: int) -> bool:
    return StreamEvent.objects.filter(job_id=job_id, seq__gt=after).exists()


# --- Hooks -----------------------------------------------------------------------------------
HOOK_CALLS_SHOWN = 50


def hook_item_counts(*, job_id: int) -> dict[str, int]:
    """Items waiting for the pre-annotation hook, failed for good, and needing no human (zeros,
    without counting, for a job that never named a hook)."""
    if not JobHooks.objects.filter(job_id=job_id).exists():
        return {"held": 0, "failed": 0, "no_human": 0}
    counts = dict(
        Item.objects.filter(
            job_id=job_id,
            status__in=(ItemStatus.HELD, ItemStatus.FAILED, ItemStatus.NO_HUMAN),
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "held": counts.get(ItemStatus.HELD, 0),
        "failed": counts.get(ItemStatus.FAILED, 0),
        "no_human": counts.get(ItemStatus.NO_HUMAN, 0),
    }


def hook_calls_recent(*, job_id: int, failures_only: bool = False) -> QuerySet[HookCall]:
    calls = HookCall.objects.filter(job_id=job_id)
    if failures_only:
        calls = calls.filter(ok=False)
    return (
        calls.select_related("hook")
        .only(
            "id",
            "hook",
            "hook__name",
            "item",
            "kind",
            "attempt",
            "ok",
            "http_status",
            "error",
            "called_at",
            "duration_ms",
        )
        .order_by("-id")[:HOOK_CALLS_SHOWN]
    )


def hook_failed_items(*, job_id: int) -> QuerySet[HookItem]:
    return (
        HookItem.objects.filter(job_id=job_id, item__status=ItemStatus.FAILED)
        .only("item", "failure_reason")
        .order_by("-item_id")[:HOOK_CALLS_SHOWN]
    )


def hook_task_input(*, item_id: int) -> Any:
    return (
        HookItem.objects.filter(item_id=item_id, pre_status=HookItemStatus.DONE)
        .values_list("task_input", flat=True)
        .first()
    )


def hook_task_context(assignment: Assignment) -> dict[str, Any]:
    """A task-context extension (labeling/task_ui/rendering.py): where the pre-annotation hook
    answered, ``task.input`` is its taskInput (a custom template sees exactly it, as in the
    managed service; a built-in template sees the item's line with the taskInput's keys over
    it, so the fields it reads stay there)."""
    task_input = hook_task_input(item_id=assignment.item_id)
    if task_input is None:
        return {}
    if job_custom_source(job_id=assignment.job_id) is not None:
        return {"input": task_input}
    return {"input": {**json.loads(assignment.item.data), **task_input}}
