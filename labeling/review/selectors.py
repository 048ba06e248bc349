"""Reads of the item page, its history and comments, the review queue and "my answers"."""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from labeling.converters import ID_DIGITS
from labeling.models import (
    Annotation,
    Assignment,
    ConsolidatedLabel,
    ConsolidatedLabelClass,
    GoldItem,
    Item,
    ItemComment,
    ItemEvent,
    Job,
    Mention,
    ReviewStatus,
    TeamMembership,
    TeamRole,
    User,
)
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class, holds_several_labels

HISTORY_LIMIT = 200
COMMENTS_LIMIT = 200
MENTIONS_LIMIT = 100
MY_ANSWERS_PAGE = 50
# Distinct colours of the workers' layers on the item page (colour-blind safe first).
WORKER_COLOURS = (
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c564b", "#7f7f7f",
    "#bcbd22",
)  # fmt: skip
# The data manager's filters that J/K follow (its query string): field -> lookup.
NEIGHBOUR_FILTERS = {
    "status": "status",
    "label": "consolidated__label",
    "reviewed": "consolidated__review_status",
    "worker": "annotations__worker_id",
}


@dataclass(frozen=True)
class HistoryRow:
    at: Any
    kind: str
    who: str
    what: str
    data: dict[str, Any] | None = None


def item_for_job(*, job: Job, item_id: int) -> Item | None:
    return Item.objects.filter(pk=item_id, job_id=job.pk).first()


def item_answers(*, item: Item) -> list[dict[str, Any]]:
    """Every worker's answer to the item, in arrival order, each with its colour."""
    rows = (
        Annotation.objects.filter(item_id=item.pk)
        .select_related("worker")
        .order_by("submitted_at", "id")
    )
    return [
        {
            "id": row.pk,
            "worker_id": row.worker_id,
            "username": row.worker.username,
            "answer": row.answer,
            "label": row.label,
            "submitted_at": row.submitted_at,
            "revised_at": row.revised_at,
            "rework_reason": row.rework_reason,
            "colour": WORKER_COLOURS[index % len(WORKER_COLOURS)],
        }
        for index, row in enumerate(rows)
    ]


def item_votes(*, job: Job, answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Votes per class, for task types whose answer is one class (or a set of classes)."""
    task_type = get_task_type(job.task_type)
    counts = dict.fromkeys(job.labels, 0)
    voters: dict[str, list[str]] = {label: [] for label in job.labels}
    for answer in answers:
        chosen = [answer["label"]] if answer["label"] else answer["answer"].get("labels", [])
        for label in chosen if isinstance(chosen, list) else []:
            if label in counts:
                counts[label] += 1
                voters[label].append(answer["username"])
    if not answers_one_class(task_type) and not any(counts.values()):
        return []
    return [{"label": k, "votes": counts[k], "workers": voters[k]} for k in job.labels]


def item_gold_label(*, item: Item) -> str | None:
    return GoldItem.objects.filter(item_id=item.pk).values_list("label", flat=True).first()


def item_consolidated(*, item: Item) -> ConsolidatedLabel | None:
    return ConsolidatedLabel.objects.filter(item_id=item.pk).select_related("reviewed_by").first()


_EVENT_WORDS = {
    "consolidated": "consolidated",
    "review_accepted": "accepted in review",
    "review_fixed": "fixed in review",
    "review_rejected": "rejected in review",
    "edited": "set the label",
    "answer_revised": "revised their answer",
    "reopened": "reopened for more answers",
    "expired": "expired unanswered",  # issue 16: a streaming job's item
}


def _describe(event: ItemEvent) -> str:
    data = event.data or {}
    after = data.get("after") if isinstance(data.get("after"), dict) else None
    before = data.get("before") if isinstance(data.get("before"), dict) else None
    words = _EVENT_WORDS.get(event.kind, event.kind)
    if event.kind == "consolidated" and after:
        label, method = after.get("label") or "…", after.get("method")
        return f"{words}: {label} ({method}, {float(after.get('confidence') or 0):.3f})"
    if event.kind == "review_fixed" and after:
        was = (before or {}).get("label") or "…"
        return f"{words}: {was} → {after.get('label') or '…'}"
    if event.kind == "review_rejected":
        where = "back to its workers" if data.get("send_to") == "rework" else "for more answers"
        return f"{words} ({where}): {data.get('reason', '')}"
    if event.kind in ("reopened", "expired") and data.get("reason"):
        return f"{words}: {data['reason']}"
    return words


def item_history(*, item: Item, limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """Leases, answers, skips, expiries (from the item's leases) and consolidations,
    reviews, edits, revisions, reopenings (from its event log), newest first."""
    rows: list[HistoryRow] = []
    leases = (
        Assignment.objects.filter(item_id=item.pk)
        .select_related("worker")
        .order_by("-leased_at")[:limit]
    )
    for lease in leases:
        who = lease.worker.username
        rows.append(HistoryRow(lease.leased_at, "leased", who, "took the task"))
        if lease.finished_at is not None:
            verb = {
                "submitted": "answered",
                "skipped": "skipped",
                "expired": "let the lease expire",
                "released": "released the task",
            }.get(lease.status, lease.status)
            rows.append(HistoryRow(lease.finished_at, lease.status, who, verb))
    events = ItemEvent.objects.filter(item_id=item.pk).select_related("actor").order_by("-at")
    for event in events[:limit]:
        who = event.actor.username if event.actor else "Quorum"
        rows.append(HistoryRow(event.at, event.kind, who, _describe(event), event.data))
    rows.sort(key=lambda row: row.at, reverse=True)
    return rows[:limit]


def item_comments(*, item: Item) -> list[dict[str, Any]]:
    rows = (
        ItemComment.objects.filter(item_id=item.pk)
        .select_related("author")
        .order_by("created_at", "id")[:COMMENTS_LIMIT]
    )
    mentioned_ids = {uid for row in rows for uid in row.mentions}
    names = dict(User.objects.filter(pk__in=mentioned_ids).values_list("id", "username"))
    return [
        {
            "id": row.pk,
            "author": row.author.username,
            "body": row.body,
            "region": row.region,
            "mentions": [names[uid] for uid in row.mentions if uid in names],
            "created_at": row.created_at,
        }
        for row in rows
    ]


def user_mentions_unread_count(*, user: User) -> int:
    return Mention.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def user_mentions(*, user: User) -> list[dict[str, Any]]:
    """The user's latest mentions, newest first, with the comment, its item and job."""
    rows = (
        Mention.objects.filter(user_id=user.pk)
        .select_related("comment__author", "comment__job")
        .order_by("-created_at", "-id")[:MENTIONS_LIMIT]
    )
    return [
        {
            "unread": row.read_at is None,
            "at": row.created_at,
            "author": row.comment.author.username,
            "body": row.comment.body,
            "job": row.comment.job,
            "item_id": row.comment.item_id,
        }
        for row in rows
    ]


def item_neighbours(*, job: Job, item_id: int, filters: dict[str, str]) -> dict[str, int | None]:
    """The previous and next item (by id) in the data manager's filter, for J/K."""
    items = Item.objects.filter(job_id=job.pk)
    for name, lookup in NEIGHBOUR_FILTERS.items():
        value = filters.get(name)
        if value is None or value == "":
            continue
        if name == "reviewed" and value == "none":
            items = items.filter(Q(consolidated__isnull=True) | Q(consolidated__review_status=""))
        elif name == "worker" and not (value.isdigit() and len(value) <= ID_DIGITS):
            # Not an id (docs/review.md): no worker answered, so no item matches (the query
            # would fail on the number, a 500).
            items = items.none()
        elif name == "label" and holds_several_labels(get_task_type(job.task_type)):
            # Multi-label, drawing and span jobs: the items whose value contains the label.
            contains = ConsolidatedLabelClass.objects.filter(
                job_id=job.pk, label=value, item_id=OuterRef("pk")
            )
            items = items.filter(Exists(contains))
        else:
            items = items.filter(**{lookup: value})
    previous = items.filter(pk__lt=item_id).order_by("-pk").values_list("pk", flat=True).first()
    following = items.filter(pk__gt=item_id).order_by("pk").values_list("pk", flat=True).first()
    return {"previous": previous, "next": following}


def item_snippet(data: str, limit: int = 160) -> str:
    line = json.loads(data)
    text = line.get("source") or line.get("source-ref") or json.dumps(line)[:limit]
    return str(text)[:limit]


# --- Review ----------------------------------------------------------------------------------


def job_review_queue(*, job: Job, limit: int = 50) -> list[dict[str, Any]]:
    """Labels waiting for a reviewer, lowest confidence first."""
    rows = (
        ConsolidatedLabel.objects.filter(job_id=job.pk, review_status=ReviewStatus.PENDING)
        .select_related("item")
        .order_by("confidence", "item_id")[:limit]
    )
    return [
        {
            "item_id": row.item_id,
            "snippet": item_snippet(row.item.data),
            "label": row.label,
            "confidence": row.confidence,
            "method": row.method,
            "answers": row.answers_count,
        }
        for row in rows
    ]


def job_review_counts(*, job: Job) -> dict[str, int]:
    """Labels waiting, accepted and fixed (one grouped count), and rejections so far."""
    rows = (
        ConsolidatedLabel.objects.filter(job_id=job.pk)
        .exclude(review_status="")
        .values("review_status")
        .annotate(n=Count("id"))
        .values_list("review_status", "n")
    )
    counts = {"pending": 0, "accepted": 0, "fixed": 0, **dict(rows)}
    counts["rejected"] = ItemEvent.objects.filter(job_id=job.pk, kind="review_rejected").count()
    return counts


def job_review_next(*, job: Job, after_item_id: int | None = None) -> int | None:
    """The next label waiting for review (lowest confidence first), or None."""
    queue = ConsolidatedLabel.objects.filter(job_id=job.pk, review_status=ReviewStatus.PENDING)
    if after_item_id:
        queue = queue.exclude(item_id=after_item_id)
    return queue.order_by("confidence", "item_id").values_list("item_id", flat=True).first()


def job_team_members(*, job: Job) -> list[dict[str, Any]]:
    rows = (
        TeamMembership.objects.filter(team_id=job.team_id)
        .select_related("user")
        .order_by("user__username")
    )
    return [
        {"user_id": row.user_id, "username": row.user.username,
         "reviewer": row.role == TeamRole.REVIEWER}
        for row in rows
    ]  # fmt: skip


def jobs_reviewed_by(*, user: User) -> list[Job]:
    """The jobs a reviewer may review: those of the teams where they have the role."""
    return list(
        Job.objects.filter(
            team__memberships__user_id=user.pk, team__memberships__role=TeamRole.REVIEWER
        ).order_by("-created_at")[:100]
    )


# --- My answers ------------------------------------------------------------------------------


def worker_answers(*, job: Job, worker: User, limit: int = MY_ANSWERS_PAGE) -> list[dict]:
    """A labeler's answers on a job, newest first, each with its item's state and comments."""
    rows = list(
        Annotation.objects.filter(job_id=job.pk, worker_id=worker.pk)
        .select_related("item")
        .order_by("-submitted_at", "-id")[:limit]
    )
    item_ids = [row.item_id for row in rows]
    labels = {
        row["item_id"]: row
        for row in ConsolidatedLabel.objects.filter(item_id__in=item_ids).values(
            "item_id", "label", "review_status", "method"
        )
    }
    comments: dict[int, list[dict]] = {}
    for comment in (
        ItemComment.objects.filter(item_id__in=item_ids)
        .select_related("author")
        .order_by("created_at", "id")
    ):
        comments.setdefault(comment.item_id, []).append(
            {"author": comment.author.username, "body": comment.body, "region": comment.region,
             "created_at": comment.created_at}
        )  # fmt: skip
    return [
        {
            "annotation": row,
            "snippet": item_snippet(row.item.data),
            "consolidated": labels.get(row.item_id),
            "comments": comments.get(row.item_id, []),
        }
        for row in rows
    ]
