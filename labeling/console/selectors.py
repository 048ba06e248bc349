"""Reads of the data manager: a job's items, filtered, sorted and paged by keyset.

A page costs two queries whatever the job's size: the ordered keys of one page (walking an
index from the cursor, never an OFFSET; ``sorting.py``), then the shown columns of those rows
only. The filters and sorts themselves are ``query.py``'s; the live dashboards ``live.py``'s.
"""

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q
from django.db.models.functions import Substr
from django.db.models.lookups import Exact, GreaterThan, LessThan

from labeling.console.query import (  # noqa: F401 - the console's callers read them here
    PAGE_SIZE,
    REVIEWED_METHODS,
    REVIEWED_STATUSES,
    SORTABLE,
    ItemQuery,
    agreement,
    is_gold,
    item_conditions,
    item_query_from_params,
    job_items,
    last_answer_at,
    similarity_stop,
    sort_expressions,
)
from labeling.console.services.thumbnails import NO_THUMBNAIL
from labeling.console.sorting import (
    cursor_decode,
    cursor_encode,
    segmented_page,
    segments_of,
)
from labeling.errors import NotFound
from labeling.models import BulkAction, ConsolidatedLabelClass, Item, Job, StreamItem
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class, holds_several_labels

SNIPPET_CHARS = 600


@dataclass(frozen=True)
class ItemPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    sort: str


def items_page(*, job: Job, query: ItemQuery) -> ItemPage:
    """One page of the data manager: the keys in order from the cursor, then their columns."""
    kind = get_task_type(job.task_type)
    one_class, several = answers_one_class(kind), holds_several_labels(kind)
    by_similarity = similarity_stop(kind) is not None
    segments = segments_of(query.sort_column, several_labels=several)
    if segments is not None:
        page, more = segmented_page(job=job, query=query, segments=segments)
        rows = item_rows(
            job=job,
            item_ids=[item_id for _, _, item_id in page],
            one_class=one_class,
            several_labels=several,
            by_similarity=by_similarity,
        )
        next_cursor = (
            cursor_encode(page[-1][1], page[-1][2], page[-1][0]) if more and page else None
        )
        return ItemPage(rows=rows, next_cursor=next_cursor, sort=query.sort)
    key = sort_expressions(one_class, by_similarity)[query.sort_column]
    items = job_items(job=job, filters=query.filters)
    if query.sort_column != "id":
        items = items.annotate(sort_key=key)
        key = F("sort_key")
    if query.cursor:
        value, after_id = cursor_decode(query.cursor)
        beyond, tied_beyond = (
            (LessThan, LessThan) if query.descending else (GreaterThan, GreaterThan)
        )
        if query.sort_column == "id":
            items = items.filter(beyond(F("id"), after_id))
        else:
            items = items.filter(
                Q(beyond(key, value)) | (Q(Exact(key, value)) & Q(tied_beyond(F("id"), after_id)))
            )
    order = [key.desc(), F("id").desc()] if query.descending else [key.asc(), F("id").asc()]
    if query.sort_column == "id":
        order = order[:1]
        keys = list(items.order_by(*order).values_list("id", "id")[: query.limit + 1])
    else:
        keys = list(items.order_by(*order).values_list("id", "sort_key")[: query.limit + 1])
    more = len(keys) > query.limit
    keys = keys[: query.limit]
    rows = item_rows(
        job=job,
        item_ids=[item_id for item_id, _ in keys],
        one_class=one_class,
        several_labels=several,
        by_similarity=by_similarity,
    )
    next_cursor = cursor_encode(keys[-1][1], keys[-1][0]) if more and keys else None
    return ItemPage(rows=rows, next_cursor=next_cursor, sort=query.sort)


def item_rows(
    *,
    job: Job,
    item_ids: list[int],
    one_class: bool,
    several_labels: bool = False,
    by_similarity: bool = False,
) -> list[dict[str, Any]]:
    """The shown columns of a page's items, in the order of ``item_ids``; with
    ``several_labels`` (the job's values hold several) each labeled row's labels too."""
    if not item_ids:
        return []
    several_columns = ("consolidated__id",) if several_labels else ()
    found = {
        row["id"]: row
        for row in Item.objects.filter(pk__in=item_ids)
        .annotate(
            snippet=Substr("data", 1, SNIPPET_CHARS),
            is_gold=is_gold(),
            last_answer_at=last_answer_at(),
            agreement=agreement(one_class, by_similarity),
        )
        .values(
            "id",
            "status",
            "answers",
            "extra_slots",
            "priority",
            "review_requested",
            "thumbnail",
            "snippet",
            "is_gold",
            "last_answer_at",
            "agreement",
            "consolidated__label",
            "consolidated__confidence",
            "consolidated__method",
            "consolidated__review_status",
            "consolidated__human_annotated",
            "consolidated__created_at",
            *several_columns,
        )
    }
    labels_of = _labels_of(found.values()) if several_labels else {}
    slots = job.workers_per_item
    rows = []
    for item_id in item_ids:
        row = found.get(item_id)
        if row is None:  # deleted between the two queries
            continue
        labeled_at = row["consolidated__created_at"]
        last = max((t for t in (row["last_answer_at"], labeled_at) if t is not None), default=None)
        has_label = row["consolidated__confidence"] is not None
        rows.append(
            {
                "id": item_id,
                "preview": preview_of(row["snippet"]),
                "thumbnail": row["thumbnail"] not in ("", NO_THUMBNAIL),
                "status": row["status"],
                "answers": row["answers"],
                "answers_needed": slots + row["extra_slots"],
                "priority": row["priority"],
                "label": row["consolidated__label"] if has_label else None,
                "labels": (
                    labels_of.get(row["consolidated__id"], [])
                    if several_labels and has_label
                    else None
                ),
                "confidence": row["consolidated__confidence"],
                "method": row["consolidated__method"],
                "source": (
                    None
                    if not has_label
                    else "human"
                    if row["consolidated__human_annotated"]
                    else "machine"
                ),
                "gold": row["is_gold"],
                "agreement": None if row["agreement"] is None else round(row["agreement"], 4),
                "reviewed": row["consolidated__method"] in REVIEWED_METHODS
                or row["consolidated__review_status"] in REVIEWED_STATUSES,
                "review_requested": row["review_requested"],
                "last_activity": last,
                "status_reason": "",
            }
        )
    _add_expiry_reasons(rows)
    return rows


def _labels_of(rows: Any) -> dict[int, list[str]]:
    """The labels each consolidated label's value contains, in code-point order: one query on
    the (consolidated, label) key, for a page's rows."""
    ids = [row["consolidated__id"] for row in rows if row["consolidated__id"] is not None]
    labels: dict[int, list[str]] = {}
    stored = (
        ConsolidatedLabelClass.objects.filter(consolidated_id__in=ids)
        .exclude(label=ConsolidatedLabelClass.NO_LABEL)
        .order_by("consolidated_id", "label")
        .values_list("consolidated_id", "label")
    )
    for consolidated_id, label in stored:
        labels.setdefault(consolidated_id, []).append(label)
    return labels


def _add_expiry_reasons(rows: list[dict[str, Any]]) -> None:
    """Issue 16: a streaming job's expired item says why (one indexed query, only when the
    page shows expired items)."""
    expired = [row["id"] for row in rows if row["status"] == ItemStatus.EXPIRED]
    if not expired:
        return
    reasons = dict(
        StreamItem.objects.filter(item_id__in=expired).values_list("item_id", "expiry_reason")
    )
    for row in rows:
        row["status_reason"] = reasons.get(row["id"], "")


def items_count(*, job: Job, filters: dict[str, str]) -> int:
    """How many items match: counted on its own (the page never waits for it)."""
    return job_items(job=job, filters=filters).count()


def items_ids_after(*, job: Job, filters: dict[str, str], after_id: int, limit: int) -> list[int]:
    """The next ``limit`` ids of the matching items after ``after_id``: a bulk action's batch."""
    return list(
        job_items(job=job, filters=filters)
        .filter(id__gt=after_id)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


# --- Previews ------------------------------------------------------------------------------------

_TEXT_KEYS = ("source", "text", "content")
_MEDIA_KEYS = ("source-ref", "video-ref")
_STRING_AT = r'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)'


def preview_of(snippet: str) -> dict[str, str]:
    """What the row shows of an item from the start of its line: its text, or its media's
    name. The line may be cut anywhere, so a value it cannot parse is read with a pattern."""
    try:
        line = json.loads(snippet)
    except ValueError:
        line = None
    if isinstance(line, dict):
        for key in _TEXT_KEYS:
            if isinstance(line.get(key), str):
                return {"kind": "text", "text": line[key][:200]}
        for key in _MEDIA_KEYS:
            if isinstance(line.get(key), str):
                return {"kind": "media", "text": line[key].rsplit("/", 1)[-1][:200]}
        if isinstance(line.get("frames"), list) and line["frames"]:
            return {"kind": "media", "text": str(line["frames"][0]).rsplit("/", 1)[-1][:200]}
        return {"kind": "text", "text": json.dumps(line, ensure_ascii=False)[:200]}
    for key in _TEXT_KEYS + _MEDIA_KEYS:
        match = re.search(_STRING_AT.format(key=re.escape(key)), snippet)
        if match:
            text = match.group(1)
            with contextlib.suppress(ValueError):
                text = json.loads(f'"{text}"')
            kind = "text" if key in _TEXT_KEYS else "media"
            return {"kind": kind, "text": text[:200]}
    return {"kind": "text", "text": snippet[:200]}


# --- Bulk actions ---------------------------------------------------------------------------


def bulk_action_get(*, job: Job, action_id: int) -> BulkAction:
    action = BulkAction.objects.filter(pk=action_id, job_id=job.pk).first()
    if action is None:
        raise NotFound(f"there is no bulk action {action_id} of this job")
    return action


def bulk_actions_recent(*, job: Job, limit: int = 10) -> list[BulkAction]:
    return list(BulkAction.objects.filter(job_id=job.pk).order_by("-created_at", "-id")[:limit])
