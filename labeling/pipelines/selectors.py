"""Pipelines' reads (issue 16): a chain's graph with its counts and its merged export;
streaming jobs' settings, counts and results feed; a job's hooks, their calls and the items
they hold or failed."""

import json
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from labeling.data.exports import manifest_lines_by_item
from labeling.models import (
    Assignment,
    ChainLink,
    ChainPassage,
    HookCall,
    HookItem,
    HookItemStatus,
    Item,
    Job,
    JobHooks,
    PassageStatus,
    StreamEvent,
    StreamItem,
    StreamSettings,
    Taxonomy,
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


# -- chains (p16-chain) -----------------------------------------------------------------------
def chain_root(*, job: Job) -> Job:
    """The first job of ``job``'s chain (itself when it has no parent)."""
    seen = {job.pk}
    current = job
    while True:
        link = ChainLink.objects.select_related("parent").filter(child_id=current.pk).first()
        if link is None or link.parent_id in seen:
            return current
        seen.add(link.parent_id)
        current = link.parent


def chain_links(*, root: Job) -> list[ChainLink]:
    """Every link below ``root``, parents before children (breadth first)."""
    links: list[ChainLink] = []
    frontier = [root.pk]
    seen = {root.pk}
    while frontier:
        level = list(
            ChainLink.objects.select_related("child")
            .filter(parent_id__in=frontier)
            .order_by("parent_id", "id")
        )
        frontier = [link.child_id for link in level if link.child_id not in seen]
        seen.update(frontier)
        links.extend(link for link in level if link.child_id in frontier)
    return links


def _passage_counts(link_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = (
        ChainPassage.objects.filter(link_id__in=link_ids)
        .values("link_id")
        .annotate(
            passed=Count("id", filter=Q(status=PassageStatus.PASSED)),
            filtered_out=Count("id", filter=Q(status=PassageStatus.FILTERED)),
            withdrawn=Count("id", filter=Q(status=PassageStatus.WITHDRAWN)),
        )
        .order_by()
    )
    return {row.pop("link_id"): row for row in rows}


def _pending(link: ChainLink) -> int:
    """Parent items the link has yet to pass or leave out (labeled ones; all, continuing)."""
    items = Item.objects.filter(job_id=link.parent_id)
    if not link.continues:
        items = items.filter(status=ItemStatus.LABELED)
    passed = ChainPassage.objects.filter(link_id=link.pk, parent_item_id=OuterRef("pk"))
    return items.filter(~Exists(passed)).count()


def chain_graph(*, job: Job) -> dict[str, Any]:
    """The chain ``job`` belongs to: its jobs and its edges with counts (passed, pending,
    filtered out, withdrawn, and the parent's items not labeled yet)."""
    root = chain_root(job=job)
    links = chain_links(root=root)
    job_ids = [root.pk, *(link.child_id for link in links)]
    items = dict(
        Item.objects.filter(job_id__in=job_ids)
        .values("job_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("job_id", "n")
    )
    labeled = dict(
        Item.objects.filter(job_id__in=job_ids, status=ItemStatus.LABELED)
        .values("job_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("job_id", "n")
    )
    jobs = {root.pk: root, **{link.child_id: link.child for link in links}}
    depth = {root.pk: 0}
    for link in links:
        depth[link.child_id] = depth.get(link.parent_id, 0) + 1
    counts = _passage_counts([link.pk for link in links])
    edges = []
    for link in links:
        row = counts.get(link.pk, {"passed": 0, "filtered_out": 0, "withdrawn": 0})
        unlabeled = items.get(link.parent_id, 0) - labeled.get(link.parent_id, 0)
        waiting = 0 if link.continues else unlabeled
        edges.append(
            {
                "id": link.pk,
                "parent": link.parent_id,
                "child": link.child_id,
                "filter": {
                    "labels": link.labels,
                    "confidence_below": link.confidence_below,
                    "machine_labeled_only": link.machine_labeled_only,
                },
                "continues": link.continues,
                **row,
                "pending": _pending(link),
                "waiting": max(waiting, 0),
            }
        )
    taxonomy = Taxonomy.objects.filter(root_job_id=root.pk).values_list("pk", flat=True).first()
    return {
        "root": root.pk,
        "taxonomy": taxonomy,
        "jobs": [
            {
                "id": pk,
                "name": one.name,
                "task_type": one.task_type,
                "label_attribute_name": one.label_attribute_name,
                "status": one.status,
                "depth": depth[pk],
                "items": items.get(pk, 0),
                "labeled": labeled.get(pk, 0),
            }
            for pk, one in jobs.items()
        ],
        "edges": edges,
    }


def chain_export_lines(*, root: Job) -> Iterator[str]:
    """The chain as a whole: one line per item of ``root``, the attributes of every job it
    reached merged onto it (each job's line, as its own export writes it, in chain order)."""
    links = chain_links(root=root)
    lines: dict[int, dict[str, Any]] = {}
    for job in [root, *(link.child for link in links)]:
        for item_id, text in manifest_lines_by_item(job):
            lines[item_id] = json.loads(text)
    below: dict[int, list[int]] = {}
    for parent_item, child_item in ChainPassage.objects.filter(
        link__in=links, status=PassageStatus.PASSED, child_item__isnull=False
    ).values_list("parent_item_id", "child_item_id"):
        below.setdefault(parent_item, []).append(child_item)
    for item_id in Item.objects.filter(job_id=root.pk).order_by("id").values_list("id", flat=True):
        merged = dict(lines.get(item_id, {}))
        pending = list(below.get(item_id, ()))
        while pending:
            reached = pending.pop(0)
            merged.update(lines.get(reached, {}))
            pending.extend(below.get(reached, ()))
        yield json.dumps(merged, ensure_ascii=False, separators=(",", ":")) + "\n"


def earlier_labels(*, line: dict[str, Any], own_attribute: str) -> list[dict[str, str]]:
    """The one-class labels earlier jobs wrote on an item's line (its attributes whose
    metadata has a ``class-name``), in the line's order, for the task page."""
    found = []
    for key, value in line.items():
        if not key.endswith("-metadata") or not isinstance(value, dict):
            continue
        attribute = key.removesuffix("-metadata")
        name = value.get("class-name")
        if attribute == own_attribute or attribute not in line or not isinstance(name, str):
            continue
        found.append({"attribute": attribute, "label": name, "job": str(value.get("job-name", ""))})
    return found


def chain_console(*, job: Job) -> dict[str, Any] | None:
    """The job's chain for its console page, by level (None when the job is in no chain)."""
    linked = ChainLink.objects.filter(Q(parent_id=job.pk) | Q(child_id=job.pk)).exists()
    if not linked:
        return None
    graph = chain_graph(job=job)
    edge_of = {edge["child"]: edge for edge in graph["edges"]}
    levels: list[list[dict[str, Any]]] = []
    for node in graph["jobs"]:
        while len(levels) <= node["depth"]:
            levels.append([])
        levels[node["depth"]].append({**node, "edge": edge_of.get(node["id"])})
    return {**graph, "levels": levels}
