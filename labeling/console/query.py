"""The data manager's query: its filters and sorts as conditions and expressions over a job's
Item rows, and the query a URL's parameters ask for.

One query serves the console page, the API and the bulk actions' "all that match", so the
three always mean the same rows (pages and their sorts: ``selectors.py`` and ``sorting.py``).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual
from django.utils.dateparse import parse_datetime

from labeling.errors import ValidationFailed
from labeling.models import (
    Annotation,
    ConsolidatedLabelClass,
    GoldItem,
    Item,
    ItemText,
    ItemTextBacklog,
    Job,
    User,
)
from labeling.quality.math.shape_reliability import stop_similarity
from labeling.quality.services.gold_shapes import scored_by_similarity
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class, holds_several_labels

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Methods of a consolidated label that a person set after the answers (the review queue's
# final label; the review stage of issue 14 adds its own).
REVIEWED_METHODS = ("manual", "review", "reviewed")
# Outcomes of the review stage (labeling/review/) that count as reviewed.
REVIEWED_STATUSES = ("accepted", "fixed")


def reviewed_condition() -> Q:
    """A label a person checked after the answers: set by a manager, or accepted or fixed by a
    reviewer (the partial index ``consolidated_reviewed`` has this condition)."""
    return Q(consolidated__method__in=REVIEWED_METHODS) | Q(
        consolidated__review_status__in=REVIEWED_STATUSES
    )


# A job with more unwritten ranges of search text than this: its items from the first range's
# first id to the last range's last are read as one span (a superset: still correct).
BACKLOG_RANGES_READ = 50

# Task types whose answer is not one class: "disagreement" is a consolidation confidence
# under this (their strategies' confidence measures how well the answers agree). Drawing and
# span task types read their stored agreement against their stop similarity instead, and this
# only for labels consolidated before it was stored.
DISAGREEMENT_CONFIDENCE_BELOW = 0.5
YES_NO = ("yes", "no")


# --- Expressions over Item rows --------------------------------------------------------------


def answers_of_item():
    return Annotation.objects.filter(item_id=OuterRef("pk"))


def is_gold():
    return Exists(GoldItem.objects.filter(item_id=OuterRef("pk")))


def last_answer_at():
    return Subquery(
        answers_of_item().order_by("-submitted_at").values("submitted_at")[:1],
    )


def _agreeing_answers():
    """How many of the item's answers give its consolidated label (one-class task types)."""
    return Coalesce(
        Subquery(
            answers_of_item()
            .filter(label=OuterRef("consolidated__label"))
            .order_by()
            .values("item_id")
            .annotate(n=Count("id"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def similarity_stop(task_type: Any) -> float | None:
    """For drawing and span task types (their answers scored by similarity), the agreement
    under which an item counts as a disagreement: adaptive overlap's stop similarity. None for
    the others."""
    if not scored_by_similarity(task_type):
        return None
    return stop_similarity(getattr(task_type, "consolidation", ""))


def agreement(one_class: bool, by_similarity: bool = False):
    """The share of an item's answers that give its label; for task types whose answers are
    not one class, the consolidation's confidence (how well their answers agree), except that
    drawing and span task types (``by_similarity``) read the mean pairwise similarity of the
    answers stored at consolidation (``ConsolidatedLabel.agreement``), the confidence only
    where none is stored (labels consolidated before it was)."""
    if not one_class:
        if by_similarity:
            return Coalesce(
                F("consolidated__agreement"),
                F("consolidated__confidence"),
                output_field=FloatField(),
            )
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
    recent = answers_of_item().filter(submitted_at__gte=since, item_id__gte=first)
    return Q(id__gte=first) & Q(Exists(recent))


def _text_search(job: Job, text: str) -> Q:
    """Items whose data contains ``text`` (case-insensitive): their search text (ItemText, the
    trigram index on PostgreSQL), and for the job's items whose text a worker has not written
    yet (the backlog: just after an import, or a change of data) their data itself."""
    # Joined to the job's items: a word common in other jobs costs this job nothing.
    found = ItemText.objects.filter(item__job_id=job.pk, text__icontains=text).values("item_id")
    ranges = list(
        ItemTextBacklog.objects.filter(job_id=job.pk)
        .order_by("first_item_id")
        .values_list("first_item_id", "last_item_id")[: BACKLOG_RANGES_READ + 1]
    )
    if not ranges:
        return Q(pk__in=found)
    if len(ranges) > BACKLOG_RANGES_READ:
        span = ItemTextBacklog.objects.filter(job_id=job.pk).aggregate(
            first=Min("first_item_id"), last=Max("last_item_id")
        )
        ranges = [(span["first"], span["last"])]
    unwritten = Q()
    for first, last in ranges:
        unwritten |= Q(id__gte=first, id__lte=last)
    not_yet = Item.objects.filter(unwritten, job_id=job.pk, data__icontains=text).values("id")
    return Q(pk__in=found.union(not_yet, all=True))


def _disagreement(one_class: bool, stop: float | None = None) -> Q:
    if not one_class and stop is not None:
        # Never null (an unlabeled item is 0), so that its negation keeps the unlabeled items.
        flag = Case(
            When(consolidated__agreement__lt=stop, then=Value(1)),
            When(consolidated__agreement__isnull=False, then=Value(0)),
            When(consolidated__confidence__lt=DISAGREEMENT_CONFIDENCE_BELOW, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        return Q(Exact(flag, 1))
    if not one_class:
        return Q(consolidated__confidence__lt=DISAGREEMENT_CONFIDENCE_BELOW)
    first_label = Subquery(
        Annotation.objects.filter(item_id=OuterRef(OuterRef("pk")))
        .order_by("id")
        .values("label")[:1]
    )
    return Q(Exists(answers_of_item().exclude(label=first_label)))


def sort_expressions(one_class: bool, by_similarity: bool = False) -> dict[str, Any]:
    """Each sortable column as an expression that is never null (keyset comparisons need a
    value on every row): an unlabeled item sorts before every labeled one. ``by_similarity``:
    the job's answers are scored by similarity (``agreement``)."""
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
        "gold": Case(When(is_gold(), then=Value(1)), default=Value(0), output_field=IntegerField()),
        "agreement": Coalesce(
            agreement(one_class, by_similarity), Value(-1.0), output_field=FloatField()
        ),
        "reviewed": Case(
            When(reviewed_condition(), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
        # The latest answer's id: answers arrive in id order, and an integer compares the same
        # on every database (SQLite keeps times as text, in more than one form).
        "last_activity": Coalesce(
            Subquery(answers_of_item().order_by("-id").values("id")[:1]), Value(0)
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
    kind = get_task_type(job.task_type)
    one_class, stop = answers_one_class(kind), similarity_stop(kind)
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
        add(_has_label(job, filters["label"]))
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
        add(Q(is_gold()) if _yes_no(filters, "gold") else ~Q(is_gold()))
    if "agreement_min" in filters or "agreement_max" in filters:
        share = agreement(one_class, by_similarity=stop is not None)
        if "agreement_min" in filters:
            add(Q(GreaterThanOrEqual(share, _number(filters, "agreement_min"))))
        if "agreement_max" in filters:
            add(Q(LessThanOrEqual(share, _number(filters, "agreement_max"))))
    if "reviewed" in filters:
        reviewed = reviewed_condition()
        add(reviewed if _yes_no(filters, "reviewed") else ~reviewed)
    if "review_requested" in filters:
        add(Q(review_requested=_yes_no(filters, "review_requested")))
    if "active_after" in filters:
        add(_answered_since(job, _when(filters, "active_after")))
    if "active_before" in filters:
        since = _when(filters, "active_before")
        add(~Q(Exists(answers_of_item().filter(submitted_at__gte=since))))
    if "worker" in filters:
        worker_id = _worker_id(filters["worker"])
        add(Q(Exists(answers_of_item().filter(worker_id=worker_id))))
    if "disagreement" in filters:
        disagreement = _disagreement(one_class, stop)
        add(disagreement if _yes_no(filters, "disagreement") else ~disagreement)
    if "q" in filters:
        add(_text_search(job, filters["q"]))
    return conditions


def _has_label(job: Job, label: str) -> Q:
    """Items whose label is ``label`` or, for task types whose value holds several labels
    (multi-label, boxes, polygons, masks, spans), whose value contains it at least once: read
    on the (job, label, item) index of either table, never the values."""
    if holds_several_labels(get_task_type(job.task_type)):
        classes = ConsolidatedLabelClass.objects.filter(
            job_id=job.pk, label=label, item_id=OuterRef("pk")
        )
        return Q(Exists(classes))
    return Q(consolidated__label=label)


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
