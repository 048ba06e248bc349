"""Keyset cursors of the data manager's pages, and sorting on a column of the label or of the
answers segment by segment, so a page costs a few index walks whatever the job's size."""

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, Func, IntegerField, OuterRef, Q, Value
from django.db.models.lookups import GreaterThan, LessThan
from django.utils.dateparse import parse_datetime

from labeling.console.query import (
    ItemQuery,
    answers_of_item,
    is_gold,
    job_items,
    reviewed_condition,
)
from labeling.errors import ValidationFailed
from labeling.models import Annotation, ConsolidatedLabel, ConsolidatedLabelClass, Job

# --- Keyset pages --------------------------------------------------------------------------------


def cursor_encode(value: Any, item_id: int, segment: int | None = None) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    key = [value, item_id] if segment is None else [value, item_id, segment]
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str, *, segmented: bool = False) -> tuple[Any, int]:
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
#
# On task types whose value holds several labels (multi-label, boxes, polygons, masks, spans,
# video) ``ConsolidatedLabel.label`` is empty or a joined set, so the label sort reads the
# labels the filter reads (``ConsolidatedLabelClass``): after the items without a label (by
# id), an item sorts by its value's first label in code-point order, walked through the
# partial index ``consolidated_class_job_first`` (one row per label); a value that holds no
# label has its row there as the empty label. Under the label filter, the items containing
# that label are labeled and their first label is at most it: the walk is bounded so.


class _Row(Func):
    """A row value ``(a, b)``: compared as a whole, ``(a, b) > (x, y)`` is one index bound on
    PostgreSQL (and SQLite since 3.15), where ``a > x OR (a = x AND b > y)`` is not."""

    template = "(%(expressions)s)"
    arg_joiner = ", "
    output_field = IntegerField()


@dataclass(frozen=True)
class _Segment:
    """A run of the sort order: ``by`` "ids" (the items meeting ``where``, in id order, whose
    key is ``value``), "column" (the labeled items by ``consolidated__<column>`` then id),
    "first_labels" (the items by their value's first label, then id) or "answers" (answered
    items by their latest answer's id)."""

    by: str
    where: Q | Callable[[int | None, bool], Q] | None = None
    # A filter under which the segment holds no item (it is not read).
    empty_under: str = ""
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


def segments_of(column: str, *, several_labels: bool = False) -> list[_Segment] | None:
    """The ascending segments of a sort column, or None where the sort is one ORDER BY;
    ``several_labels``: the job's task type's value holds several labels."""
    if column == "label" and several_labels:
        return [_Segment("ids", where=_unlabeled, empty_under="label"), _Segment("first_labels")]
    if column in ("label", "confidence", "source"):
        name = "human_annotated" if column == "source" else column
        return [_Segment("ids", where=_unlabeled), _Segment("column", column=name)]
    if column == "reviewed":
        return [
            _Segment("ids", where=~reviewed_condition(), value=0),
            _Segment("ids", where=reviewed_condition(), value=1, labeled=True),
        ]
    if column == "gold":
        return [
            _Segment("ids", where=~Q(is_gold()), value=0),
            _Segment("ids", where=Q(is_gold()), value=1),
        ]
    if column == "last_activity":
        return [
            _Segment("ids", where=~Q(Exists(answers_of_item())), value=0),
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
    if segment.empty_under and segment.empty_under in filters:
        return []
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
    if segment.by == "first_labels":
        firsts = ConsolidatedLabelClass.objects.filter(job_id=job.pk, first=True)
        if "label" in filters:  # a value containing it has a first label, and at most it
            firsts = firsts.filter(
                label__gt=ConsolidatedLabelClass.NO_LABEL, label__lte=filters["label"]
            )
        if filters:
            firsts = firsts.filter(
                Exists(job_items(job=job, filters=filters).filter(pk=OuterRef("item_id")))
            )
        if after is not None:
            here = _Row(F("label"), F("item_id"))
            there = _Row(Value(after[0]), Value(after[1]))
            firsts = firsts.filter(
                LessThan(here, there) if descending else GreaterThan(here, there)
            )
        order = ["-label", "-item_id"] if descending else ["label", "item_id"]
        return list(firsts.order_by(*order).values_list("label", "item_id")[:limit])
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
    if segment.by == "first_labels" or segment.column == "label":
        return isinstance(value, str)
    if segment.column == "human_annotated":
        return isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def segmented_page(
    *, job: Job, query: ItemQuery, segments: list[_Segment]
) -> tuple[list[tuple[int, Any, int]], bool]:
    """The page's (segment, key, item id) in order, and whether there are more."""
    if query.descending:
        segments = segments[::-1]
    start, after = 0, None
    if query.cursor:
        (start, value), after_id = cursor_decode(query.cursor, segmented=True)
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
