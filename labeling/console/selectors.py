"""Reads of the data manager: a job's items, filtered, sorted and paged by keyset.

One query builder serves the console page, the API and the bulk actions' "all that match",
so the three always mean the same rows. A page costs two queries whatever the job's size:
the ordered keys of one page (walking an index from the cursor, never an OFFSET), then the
shown columns of those rows only.
"""

import base64
import binascii
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Substr
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils.dateparse import parse_datetime

from labeling.console.services.thumbnails import NO_THUMBNAIL
from labeling.errors import NotFound, ValidationFailed
from labeling.models import (
    Annotation,
    BulkAction,
    ConsolidatedLabel,
    GoldItem,
    Item,
    Job,
    JobQualityEstimate,
    StreamItem,
    User,
)
from labeling.selectors import job_counts
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
SNIPPET_CHARS = 600
# Methods of a consolidated label that a person set after the answers (the review queue's
# final label; the review stage of issue 14 adds its own).
REVIEWED_METHODS = ("manual", "review", "reviewed")
# Outcomes of the review stage (labeling/review/) that count as reviewed.
REVIEWED_STATUSES = ("accepted", "fixed")


def _reviewed() -> Q:
    """A label a person checked after the answers: set by a manager, or accepted or fixed by a
    reviewer (the partial index ``consolidated_reviewed`` has this condition)."""
    return Q(consolidated__method__in=REVIEWED_METHODS) | Q(
        consolidated__review_status__in=REVIEWED_STATUSES
    )


# Task types whose answer is not one class: "disagreement" is a consolidation confidence
# under this (their strategies' confidence measures how well the answers agree).
DISAGREEMENT_CONFIDENCE_BELOW = 0.5
YES_NO = ("yes", "no")

logger = logging.getLogger(__name__)


# --- Expressions over Item rows --------------------------------------------------------------


def _answers_of_item():
    return Annotation.objects.filter(item_id=OuterRef("pk"))


def _is_gold():
    return Exists(GoldItem.objects.filter(item_id=OuterRef("pk")))


def _last_answer_at():
    return Subquery(
        _answers_of_item().order_by("-submitted_at").values("submitted_at")[:1],
    )


def _agreeing_answers():
    """How many of the item's answers give its consolidated label (one-class task types)."""
    return Coalesce(
        Subquery(
            _answers_of_item()
            .filter(label=OuterRef("consolidated__label"))
            .order_by()
            .values("item_id")
            .annotate(n=Count("id"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _agreement(one_class: bool):
    """The share of an item's answers that give its label; for task types whose answers are
    not one class, the consolidation's confidence (how well their answers agree)."""
    if not one_class:
        return F("consolidated__confidence")
    return Case(
        When(
            Q(consolidated__isnull=False) & Q(answers__gt=0),
            then=Cast(_agreeing_answers(), FloatField()) / Cast(F("answers"), FloatField()),
        ),
        default=Value(None, output_field=FloatField()),
        output_field=FloatField(),
    )


# Recent answers sit at the end of the job's (job, submitted_at) index and their items, mostly,
# at the end of the id order: PostgreSQL, not knowing that, would walk every item from the first
# to find them. The first item they touch, read from that index, bounds the walk.
def _answered_since(job: Job, since: datetime) -> Q:
    answers = Annotation.objects.filter(job_id=job.pk, submitted_at__gte=since)
    # "+ 0": aggregated over the time range, not read as the first of the item_id index
    # (PostgreSQL's rewrite of MIN, which walks that index from the start).
    first = answers.aggregate(first=Min(F("item_id") + 0))["first"]
    if first is None:
        return Q(pk__in=[])
    recent = _answers_of_item().filter(submitted_at__gte=since, item_id__gte=first)
    return Q(id__gte=first) & Q(Exists(recent))


def _disagreement(one_class: bool) -> Q:
    if not one_class:
        return Q(consolidated__confidence__lt=DISAGREEMENT_CONFIDENCE_BELOW)
    first_label = Subquery(
        Annotation.objects.filter(item_id=OuterRef(OuterRef("pk")))
        .order_by("id")
        .values("label")[:1]
    )
    return Q(Exists(_answers_of_item().exclude(label=first_label)))


def _sort_expressions(one_class: bool) -> dict[str, Any]:
    """Each sortable column as an expression that is never null (keyset comparisons need a
    value on every row): an unlabeled item sorts before every labeled one."""
    return {
        "id": F("id"),
        "priority": F("priority"),
        "status": F("status"),
        "answers": F("answers"),
        "label": Coalesce(F("consolidated__label"), Value("")),
        "confidence": Coalesce(F("consolidated__confidence"), Value(-1.0)),
        "source": Case(
            When(consolidated__isnull=True, then=Value(0)),
            When(consolidated__human_annotated=True, then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "gold": Case(
            When(_is_gold(), then=Value(1)), default=Value(0), output_field=IntegerField()
        ),
        "agreement": Coalesce(_agreement(one_class), Value(-1.0), output_field=FloatField()),
        "reviewed": Case(
            When(_reviewed(), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
        # The latest answer's id: answers arrive in id order, and an integer compares the same
        # on every database (SQLite keeps times as text, in more than one form).
        "last_activity": Coalesce(
            Subquery(_answers_of_item().order_by("-id").values("id")[:1]), Value(0)
        ),
    }


SORTABLE = (
    "id",
    "priority",
    "status",
    "answers",
    "label",
    "confidence",
    "source",
    "gold",
    "agreement",
    "reviewed",
    "last_activity",
)


# --- The query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemQuery:
    """What the data manager shows: filters, sort, cursor and page size, from the URL."""

    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "id"
    cursor: str = ""
    limit: int = PAGE_SIZE

    @property
    def sort_column(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


FILTERS = (
    "status",
    "answers",
    "answers_min",
    "answers_max",
    "priority",
    "priority_min",
    "label",
    "confidence_min",
    "confidence_max",
    "source",
    "gold",
    "agreement_min",
    "agreement_max",
    "reviewed",
    "review_requested",
    "active_after",
    "active_before",
    "worker",
    "disagreement",
    "q",
)


def item_query_from_params(params: Any) -> ItemQuery:
    """The query of a URL's parameters (a QueryDict or a dict); unknown ones are ignored."""
    filters = {
        name: str(params.get(name)).strip()
        for name in FILTERS
        if params.get(name) not in (None, "") and str(params.get(name)).strip() != ""
    }
    sort = str(params.get("sort") or "id")
    if sort.lstrip("-") not in SORTABLE:
        raise ValidationFailed(
            f"items sort on {', '.join(SORTABLE)} (a leading '-' for descending); not {sort}",
            details={"field": "sort"},
        )
    try:
        limit = int(params.get("limit") or PAGE_SIZE)
    except ValueError:
        raise ValidationFailed("limit is a whole number", details={"field": "limit"}) from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(
            f"limit is between 1 and {MAX_PAGE_SIZE}", details={"field": "limit"}
        )
    return ItemQuery(
        filters=filters, sort=sort, cursor=str(params.get("cursor") or ""), limit=limit
    )


def _number(filters: dict[str, str], name: str, kind: type = float) -> Any:
    try:
        return kind(filters[name])
    except ValueError:
        raise ValidationFailed(
            f"{name} is a {'whole ' if kind is int else ''}number", details={"field": name}
        ) from None


def _when(filters: dict[str, str], name: str) -> datetime:
    value = parse_datetime(filters[name])
    if value is None:
        raise ValidationFailed(f"{name} is a date and time (ISO 8601)", details={"field": name})
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _yes_no(filters: dict[str, str], name: str) -> bool:
    value = filters[name].lower()
    if value not in YES_NO:
        raise ValidationFailed(f"{name} is yes or no", details={"field": name})
    return value == "yes"


def item_conditions(*, job: Job, filters: dict[str, str]) -> list[Q]:
    """The filters as conditions on the job's Item rows (used by pages, bulk actions and the
    selection's export alike)."""
    one_class = answers_one_class(get_task_type(job.task_type))
    conditions: list[Q] = []
    add = conditions.append
    if "status" in filters:
        if filters["status"] not in ItemStatus.values:
            raise ValidationFailed(
                f"status is one of {', '.join(ItemStatus.values)}", details={"field": "status"}
            )
        add(Q(status=filters["status"]))
    if "answers" in filters:
        add(Q(answers=_number(filters, "answers", int)))
    if "answers_min" in filters:
        add(Q(answers__gte=_number(filters, "answers_min", int)))
    if "answers_max" in filters:
        add(Q(answers__lte=_number(filters, "answers_max", int)))
    if "priority" in filters:
        add(Q(priority=_number(filters, "priority", int)))
    if "priority_min" in filters:
        add(Q(priority__gte=_number(filters, "priority_min", int)))
    if "label" in filters:
        add(Q(consolidated__label=filters["label"]))
    if "confidence_min" in filters:
        add(Q(consolidated__confidence__gte=_number(filters, "confidence_min")))
    if "confidence_max" in filters:
        add(Q(consolidated__confidence__lte=_number(filters, "confidence_max")))
    if "source" in filters:
        source = filters["source"]
        if source not in ("human", "machine", "none"):
            raise ValidationFailed("source is human, machine or none", details={"field": "source"})
        if source == "none":
            add(Q(consolidated__isnull=True))
        else:
            add(Q(consolidated__human_annotated=source == "human"))
    if "gold" in filters:
        add(Q(_is_gold()) if _yes_no(filters, "gold") else ~Q(_is_gold()))
    if "agreement_min" in filters or "agreement_max" in filters:
        agreement = _agreement(one_class)
        if "agreement_min" in filters:
            add(Q(GreaterThanOrEqual(agreement, _number(filters, "agreement_min"))))
        if "agreement_max" in filters:
            add(Q(LessThanOrEqual(agreement, _number(filters, "agreement_max"))))
    if "reviewed" in filters:
        reviewed = _reviewed()
        add(reviewed if _yes_no(filters, "reviewed") else ~reviewed)
    if "review_requested" in filters:
        add(Q(review_requested=_yes_no(filters, "review_requested")))
    if "active_after" in filters:
        add(_answered_since(job, _when(filters, "active_after")))
    if "active_before" in filters:
        since = _when(filters, "active_before")
        add(~Q(Exists(_answers_of_item().filter(submitted_at__gte=since))))
    if "worker" in filters:
        worker_id = _worker_id(filters["worker"])
        add(Q(Exists(_answers_of_item().filter(worker_id=worker_id))))
    if "disagreement" in filters:
        disagreement = _disagreement(one_class)
        add(disagreement if _yes_no(filters, "disagreement") else ~disagreement)
    if "q" in filters:
        add(Q(data__icontains=filters["q"]))
    return conditions


def _worker_id(worker: str) -> int:
    """A worker by username (or by id, given as digits)."""
    found = User.objects.filter(
        Q(username=worker) | Q(pk=int(worker)) if worker.isdigit() else Q(username=worker)
    )
    worker_id = found.values_list("pk", flat=True).first()
    # An unknown worker answered nothing: no row matches, rather than an error.
    return worker_id if worker_id is not None else -1


def job_items(*, job: Job, filters: dict[str, str]) -> QuerySet[Item]:
    """The job's items that match ``filters`` (unordered)."""
    return Item.objects.filter(job_id=job.pk).filter(*item_conditions(job=job, filters=filters))


# --- Keyset pages --------------------------------------------------------------------------------


def _cursor_encode(value: Any, item_id: int, segment: int | None = None) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    key = [value, item_id] if segment is None else [value, item_id, segment]
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(cursor: str, *, segmented: bool = False) -> tuple[Any, int]:
    """(value, item id); for a segmented sort, ((segment, value), item id)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if not isinstance(key, list) or len(key) != (3 if segmented else 2):
            raise ValueError("not a key")
        value, item_id = key[0], key[1]
        if segmented:
            if not isinstance(key[2], int) or not isinstance(item_id, int):
                raise ValueError("no segment")
            return (key[2], value), item_id
        if isinstance(value, dict):
            value = parse_datetime(value["t"])
            if value is None:
                raise ValueError("no date")
        if not isinstance(item_id, int):
            raise ValueError("no id")
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise ValidationFailed(
            "this cursor is not one the items list gave", details={"field": "cursor"}
        ) from None
    return value, item_id


@dataclass(frozen=True)
class ItemPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    sort: str


# --- Sorting on a column of the label or of the answers, segment by segment -------------------
#
# Sorting the items on a column of their consolidated label (or on their latest answer) as one
# ORDER BY over a join sorts the whole job (3–4.6 s at a million items on PostgreSQL). Instead
# the order is read as consecutive segments, each walking an index in its own order from the
# cursor: the items without a label (by id), then the labels by (column, item) through the
# index ``consolidated_job_<column>``; reviewed and gold are two segments each (no, yes) by id;
# last activity walks the job's answers by id (``annotation_job_id``), keeping each item's
# latest, then the items never answered. A page asks each segment for the rows it still needs,
# so it costs a few index walks of a page's length whatever the job's size. The cursor carries
# the segment it stopped in.


class _Row(Func):
    """A row value ``(a, b)``: compared as a whole, ``(a, b) > (x, y)`` is one index bound on
    PostgreSQL (and SQLite since 3.15), where ``a > x OR (a = x AND b > y)`` is not."""

    template = "(%(expressions)s)"
    arg_joiner = ", "
    output_field = IntegerField()


@dataclass(frozen=True)
class _Segment:
    """A run of the sort order: ``by`` "ids" (the items meeting ``where``, in id order, whose
    key is ``value``), "column" (the labeled items by ``consolidated__<column>`` then id) or
    "answers" (answered items by their latest answer's id)."""

    by: str
    where: Q | Callable[[int | None, bool], Q] | None = None
    column: str = ""
    value: Any = None
    # The rows all have a label: the cursor also bounds the label's side (PostgreSQL does not
    # carry ``item.id < x`` over to the joined label's ``item_id``, and walks every label).
    labeled: bool = False


def _unlabeled(after_id: int | None, descending: bool) -> Q:
    """Items without a label, as NOT EXISTS (PostgreSQL estimates a LEFT JOIN … IS NULL at one
    row and hashes the whole job's labels); the cursor bounds the labels' side too, else the
    merge anti join walks every label before the cursor."""
    labels = ConsolidatedLabel.objects.filter(item_id=OuterRef("pk"))
    if after_id is not None:
        labels = (
            labels.filter(item_id__lt=after_id)
            if descending
            else labels.filter(item_id__gt=after_id)
        )
    return ~Q(Exists(labels))


def _segments(column: str) -> list[_Segment] | None:
    """The ascending segments of a sort column, or None where the sort is one ORDER BY."""
    if column in ("label", "confidence", "source"):
        name = "human_annotated" if column == "source" else column
        return [_Segment("ids", where=_unlabeled), _Segment("column", column=name)]
    if column == "reviewed":
        return [
            _Segment("ids", where=~_reviewed(), value=0),
            _Segment("ids", where=_reviewed(), value=1, labeled=True),
        ]
    if column == "gold":
        return [
            _Segment("ids", where=~Q(_is_gold()), value=0),
            _Segment("ids", where=Q(_is_gold()), value=1),
        ]
    if column == "last_activity":
        return [
            _Segment("ids", where=~Q(Exists(_answers_of_item())), value=0),
            _Segment("answers"),
        ]
    return None


def _segment_keys(
    *,
    job: Job,
    filters: dict[str, str],
    segment: _Segment,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int,
) -> list[tuple[Any, int]]:
    """Up to ``limit`` (key, item id) of one segment, in order, after ``after`` if given."""
    items = job_items(job=job, filters=filters)
    if segment.by == "ids":
        where = segment.where
        if callable(where):
            where = where(None if after is None else after[1], descending)
        items = items.filter(where)
        if after is not None:
            items = items.filter(id__lt=after[1]) if descending else items.filter(id__gt=after[1])
            if segment.labeled:
                bound = "lt" if descending else "gt"
                items = items.filter(**{f"consolidated__item_id__{bound}": after[1]})
        ids = items.order_by("-id" if descending else "id").values_list("id", flat=True)[:limit]
        return [(segment.value, item_id) for item_id in ids]
    if segment.by == "column":
        column = f"consolidated__{segment.column}"
        items = items.filter(consolidated__job_id=job.pk)
        if after is not None:
            here = _Row(F(column), F("consolidated__item_id"))
            there = _Row(Value(after[0]), Value(after[1]))
            items = items.filter(LessThan(here, there) if descending else GreaterThan(here, there))
        order = (
            [F(column).desc(), F("consolidated__item_id").desc()]
            if descending
            else [F(column).asc(), F("consolidated__item_id").asc()]
        )
        return [
            (value, item_id)
            for item_id, value in items.order_by(*order).values_list("id", column)[:limit]
        ]
    # The job's answers by id, each the latest of its item, whose item matches the filters.
    answers = Annotation.objects.filter(job_id=job.pk).exclude(
        Exists(Annotation.objects.filter(item_id=OuterRef("item_id"), id__gt=OuterRef("id")))
    )
    if filters:
        answers = answers.filter(
            Exists(job_items(job=job, filters=filters).filter(pk=OuterRef("item_id")))
        )
    if after is not None:
        answers = answers.filter(id__lt=after[0]) if descending else answers.filter(id__gt=after[0])
    rows = answers.order_by("-id" if descending else "id").values_list("id", "item_id")[:limit]
    return list(rows)


def _fits(segment: _Segment, value: Any) -> bool:
    """Whether a cursor's value is of the segment's kind (a forged one never reaches SQL)."""
    if segment.by == "answers":
        return isinstance(value, int) and not isinstance(value, bool)
    if segment.by == "ids":
        return value == segment.value
    if segment.column == "label":
        return isinstance(value, str)
    if segment.column == "human_annotated":
        return isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _segmented_page(
    *, job: Job, query: ItemQuery, segments: list[_Segment]
) -> tuple[list[tuple[int, Any, int]], bool]:
    """The page's (segment, key, item id) in order, and whether there are more."""
    if query.descending:
        segments = segments[::-1]
    start, after = 0, None
    if query.cursor:
        (start, value), after_id = _cursor_decode(query.cursor, segmented=True)
        if not 0 <= start < len(segments):
            raise ValidationFailed(
                "this cursor is not one the items list gave", details={"field": "cursor"}
            )
        if not _fits(segments[start], value):
            raise ValidationFailed(
                "this cursor is not one the items list gave", details={"field": "cursor"}
            )
        after = (value, after_id)
    keys: list[tuple[int, Any, int]] = []
    for index in range(start, len(segments)):
        found = _segment_keys(
            job=job,
            filters=query.filters,
            segment=segments[index],
            descending=query.descending,
            after=after if index == start else None,
            limit=query.limit + 1 - len(keys),
        )
        keys += [(index, value, item_id) for value, item_id in found]
        if len(keys) > query.limit:
            break
    return keys[: query.limit], len(keys) > query.limit


def items_page(*, job: Job, query: ItemQuery) -> ItemPage:
    """One page of the data manager: the keys in order from the cursor, then their columns."""
    one_class = answers_one_class(get_task_type(job.task_type))
    segments = _segments(query.sort_column)
    if segments is not None:
        page, more = _segmented_page(job=job, query=query, segments=segments)
        rows = item_rows(job=job, item_ids=[item_id for _, _, item_id in page], one_class=one_class)
        next_cursor = (
            _cursor_encode(page[-1][1], page[-1][2], page[-1][0]) if more and page else None
        )
        return ItemPage(rows=rows, next_cursor=next_cursor, sort=query.sort)
    key = _sort_expressions(one_class)[query.sort_column]
    items = job_items(job=job, filters=query.filters)
    if query.sort_column != "id":
        items = items.annotate(sort_key=key)
        key = F("sort_key")
    if query.cursor:
        value, after_id = _cursor_decode(query.cursor)
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
    rows = item_rows(job=job, item_ids=[item_id for item_id, _ in keys], one_class=one_class)
    next_cursor = _cursor_encode(keys[-1][1], keys[-1][0]) if more and keys else None
    return ItemPage(rows=rows, next_cursor=next_cursor, sort=query.sort)


def item_rows(*, job: Job, item_ids: list[int], one_class: bool) -> list[dict[str, Any]]:
    """The shown columns of a page's items, in the order of ``item_ids``."""
    if not item_ids:
        return []
    found = {
        row["id"]: row
        for row in Item.objects.filter(pk__in=item_ids)
        .annotate(
            snippet=Substr("data", 1, SNIPPET_CHARS),
            is_gold=_is_gold(),
            last_answer_at=_last_answer_at(),
            agreement=_agreement(one_class),
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
        )
    }
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


# --- Live dashboards ------------------------------------------------------------------------

# A job's snapshot is computed at most once per LIVE_SECONDS, whoever and however many watch:
# the first viewer past that age takes a short lock and computes it from the counter shards
# (a handful of rows), one indexed count of live leases and the job's latest answers; every
# other viewer is served the cached one. Its cost does not grow with the job's size, and the
# load of many viewers is one such computation per job per LIVE_SECONDS.
LIVE_SECONDS = 2.0
LIVE_RECENT_ANSWERS = 8
_LIVE_KEY = "quorum:live:v1:{job_id}"


def _live_compute(job: Job) -> dict[str, Any]:
    counts = job_counts(job=job)
    recent = list(
        Annotation.objects.filter(job_id=job.pk)
        .order_by("-submitted_at")
        .values("item_id", "label", "submitted_at", "worker__username")[:LIVE_RECENT_ANSWERS]
    )
    estimated_at = (
        JobQualityEstimate.objects.filter(job_id=job.pk)
        .values_list("computed_at", flat=True)
        .first()
    )
    status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    return {
        "job_id": job.pk,
        "status": status,
        **counts,
        "quality_estimated_at": estimated_at.isoformat() if estimated_at else None,
        "recent_answers": [
            {
                "item_id": row["item_id"],
                "label": row["label"],
                "worker": row["worker__username"],
                "submitted_at": row["submitted_at"].isoformat(),
            }
            for row in recent
        ],
        "computed_at": time.time(),
    }


def job_live_snapshot(*, job: Job) -> dict[str, Any]:
    """The job's live figures, at most LIVE_SECONDS old, shared by every viewer."""
    key = _LIVE_KEY.format(job_id=job.pk)
    try:
        cached = cache.get(key)
        if cached is not None and time.time() - cached["computed_at"] < LIVE_SECONDS:
            return cached
        if cached is not None and not cache.add(f"{key}:lock", 1, timeout=int(LIVE_SECONDS) + 1):
            return cached  # another viewer is computing it now
    except Exception:  # noqa: BLE001 - no cache: compute for this viewer, never fail the page
        logger.warning("the live snapshot cache is unavailable", exc_info=True)
        return _live_compute(job)
    snapshot = _live_compute(job)
    try:
        cache.set(key, snapshot, timeout=int(LIVE_SECONDS * 30))
        cache.delete(f"{key}:lock")
    except Exception:  # noqa: BLE001
        logger.warning("the live snapshot cache is unavailable", exc_info=True)
    return snapshot
