"""Comments on an item or on one region of it, with @mentions of the job's team (issue 14)."""

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from labeling.errors import NotAllowed, NotFound, ValidationFailed
from labeling.models import Annotation, Item, ItemComment, Job, Mention, TeamMembership, User

BODY_MAX = 5_000
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
REGION_KINDS = ("box", "polygon", "polyline", "line", "keypoint", "span", "object")


def item_comment_allowed(*, job: Job, item_id: int, user: User) -> bool:
    """Managers comment on any item; a labeler on an item they answered; a reviewer on any
    item of a job they review."""
    if user.is_manager:
        return True
    if TeamMembership.objects.filter(
        team_id=job.team_id, user_id=user.pk, role="reviewer"
    ).exists():
        return True
    return Annotation.objects.filter(item_id=item_id, worker_id=user.pk).exists()


def _region(region: Any) -> dict[str, Any] | None:
    if region in (None, "", {}):
        return None
    if not isinstance(region, dict) or region.get("kind") not in REGION_KINDS:
        raise ValidationFailed(
            f"a region is an object whose kind is one of {', '.join(REGION_KINDS)}",
            details={"field": "region"},
        )
    index = region.get("index")
    if index is not None and (not isinstance(index, int) or index < 0):
        raise ValidationFailed("a region's index is a whole number", details={"field": "region"})
    kept = {k: region[k] for k in ("kind", "index", "label", "text") if k in region}
    for key in ("label", "text"):
        if key in kept:
            kept[key] = str(kept[key])[:200]
    return kept


def item_comment_add(
    *, job: Job, item_id: int, author: User, body: str, region: Any = None
) -> ItemComment:
    """Add a comment; ``@username`` of a member of the job's team (or a manager) mentions them."""
    item = Item.objects.filter(pk=item_id, job_id=job.pk).only("id").first()
    if item is None:
        raise NotFound(f"there is no item {item_id} in this job")
    if not item_comment_allowed(job=job, item_id=item.pk, user=author):
        raise NotAllowed("you may comment only on items you answered")
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("the comment is empty", details={"field": "body"})
    if len(body) > BODY_MAX:
        raise ValidationFailed(
            f"a comment holds at most {BODY_MAX} characters", details={"field": "body"}
        )
    names = set(MENTION.findall(body))
    mentioned = list(
        User.objects.filter(username__in=names)
        .filter(memberships__team_id=job.team_id)
        .values_list("id", flat=True)
        .distinct()
    ) + list(User.objects.filter(username__in=names, role="manager").values_list("id", flat=True))
    with transaction.atomic():
        comment = ItemComment.objects.create(
            job=job,
            item=item,
            author=author,
            body=body,
            region=_region(region),
            mentions=sorted(set(mentioned)),
        )
        # Each mentioned user (not the author) gets an unread notice in their header.
        Mention.objects.bulk_create(
            [Mention(user_id=uid, comment=comment) for uid in comment.mentions if uid != author.pk]
        )
    return comment


def mentions_mark_read(*, user: User) -> int:
    """Mark every unread mention of ``user`` read; the number marked."""
    return Mention.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
