"""Reads of the workflows app: each fetches exactly what its page or endpoint shows."""

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from labeling.crypto import SecretUnreadable, secret_decrypt
from labeling.models import Job, Role, Team, User
from workflows.models import AccessKey, Flow, HumanLoop, WebhookDelivery
from workflows.states import HumanLoopStatus

logger = logging.getLogger(__name__)
MAX_PAGE_SIZE = 100
# Signing secrets remembered by this process: key id -> (secret, when read). Bounded.
_SIGNING_SECRETS: dict[str, tuple[str, float]] = {}
SIGNING_SECRETS_MAX = 1000
_LIST_FIELDS = (
    "id",
    "name",
    "status",
    "created_at",
    "failure_reason",
    "flow_id",
    "flow__name",
    "flow__output_path",
)


class BadCursor(ValueError):
    """A pagination token this server did not hand out."""


def flows_for_user(*, user: User) -> QuerySet[Flow]:
    flows = Flow.objects.select_related("team", "job").order_by("-created_at")
    if user.is_manager:
        return flows
    return flows.filter(team__memberships__user_id=user.pk)


def flow_get_for_user(*, flow_id: int, user: User) -> Flow | None:
    return flows_for_user(user=user).filter(pk=flow_id).first()


def flow_get_by_name(*, name: str) -> Flow | None:
    return Flow.objects.select_related("job").filter(name=name).first()


def loop_get(*, name: str) -> HumanLoop | None:
    return HumanLoop.objects.select_related("flow").filter(name=name).first()


def _encode_cursor(loop: HumanLoop) -> str:
    raw = f"{loop.created_at.isoformat()}|{loop.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        moment, pk = raw.split("|")
        return datetime.fromisoformat(moment), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("the pagination token is not one this server gave out") from None


def loops_page(
    *,
    flow: Flow,
    status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    ascending: bool = False,
    cursor: str | None = None,
    limit: int = MAX_PAGE_SIZE,
) -> tuple[list[HumanLoop], str | None]:
    """One page of a flow's loops in creation order (keyset pagination: stable under inserts)."""
    loops = HumanLoop.objects.filter(flow_id=flow.pk).select_related("flow").only(*_LIST_FIELDS)
    if status:
        loops = loops.filter(status=status)
    if created_after:
        loops = loops.filter(created_at__gt=created_after)
    if created_before:
        loops = loops.filter(created_at__lt=created_before)
    if cursor:
        moment, pk = _decode_cursor(cursor)
        if ascending:
            loops = loops.filter(Q(created_at__gt=moment) | Q(created_at=moment, pk__gt=pk))
        else:
            loops = loops.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    order = ("created_at", "id") if ascending else ("-created_at", "-id")
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = list(loops.order_by(*order)[: limit + 1])
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def loop_counts(*, flow: Flow) -> dict[str, int]:
    counts = dict(
        HumanLoop.objects.filter(flow_id=flow.pk)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in HumanLoopStatus.values}


def agreement_over_time(*, flow: Flow, hours: int = 72) -> dict[str, Any]:
    """Per hour: reviewed loops with a model label, and the share where people agreed."""
    since = timezone.now() - timedelta(hours=hours)
    rows = (
        HumanLoop.objects.filter(flow_id=flow.pk, completed_at__gte=since, agrees__isnull=False)
        .annotate(hour=TruncHour("completed_at"))
        .values("hour")
        .annotate(n=Count("id"), agreed=Count("id", filter=Q(agrees=True)))
        .order_by("hour")
    )
    points = [
        {
            "hour": row["hour"].isoformat(),
            "reviewed": row["n"],
            "agreement": round(row["agreed"] / row["n"], 4),
        }
        for row in rows
    ]
    return {"hours": [p["hour"] for p in points], "points": points}


def flow_stats(*, flow: Flow) -> dict[str, Any]:
    total = flow.predictions_total
    agreed = HumanLoop.objects.filter(flow_id=flow.pk, agrees__isnull=False).aggregate(
        n=Count("id"), yes=Count("id", filter=Q(agrees=True))
    )
    return {
        "predictions_total": total,
        "predictions_reviewed": flow.predictions_reviewed,
        "review_share": round(flow.predictions_reviewed / total, 4) if total else None,
        "agreement": round(agreed["yes"] / agreed["n"], 4) if agreed["n"] else None,
        "loops": loop_counts(flow=flow),
        "agreement_over_time": agreement_over_time(flow=flow),
    }


def flow_deliveries(*, flow: Flow, limit: int = 100) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(flow_id=flow.pk)
        .select_related("loop")
        .defer("body")
        .order_by("-created_at", "-id")[:limit]
    )


def access_keys_for_user(*, user: User) -> QuerySet[AccessKey]:
    return (
        AccessKey.objects.filter(user_id=user.pk).defer("secret_encrypted").order_by("-created_at")
    )


def signing_secret(*, access_key_id: str) -> str | None:
    """The secret of an unrevoked key whose owner is an active manager; None otherwise.

    The secret is stored encrypted. Every runtime API request needs it, so a found secret
    is remembered, decrypted, in this process for ``QUORUM_A2I_KEY_CACHE_SECONDS``:
    revoking a key ends it at once in the process that revokes it
    (``forget_signing_secret``) and within that time in the others.
    """
    remembered = _SIGNING_SECRETS.get(access_key_id)
    now = time.monotonic()
    if remembered is not None and now - remembered[1] < settings.QUORUM_A2I_KEY_CACHE_SECONDS:
        return remembered[0]
    row = (
        AccessKey.objects.filter(
            access_key_id=access_key_id, revoked_at__isnull=True, user__is_active=True
        )
        .filter(Q(user__role=Role.MANAGER) | Q(user__is_superuser=True))
        .values_list("secret_encrypted", flat=True)
        .first()
    )
    secret = None
    if row is not None:
        try:
            secret = secret_decrypt(row)
        except SecretUnreadable:
            logger.error("access key %s: its stored secret does not decrypt", access_key_id)
    if secret is None:
        _SIGNING_SECRETS.pop(access_key_id, None)
        return None
    if len(_SIGNING_SECRETS) >= SIGNING_SECRETS_MAX:
        _SIGNING_SECRETS.clear()
    _SIGNING_SECRETS[access_key_id] = (secret, now)
    return secret


def forget_signing_secret(*, access_key_id: str) -> None:
    _SIGNING_SECRETS.pop(access_key_id, None)


@dataclass(frozen=True)
class FlowForStart:
    """What StartHumanLoop needs of a flow: the flow (with its job's task type and its team's
    kind; other fields deferred) and its open loops as its counters say."""

    flow: Flow
    open_loops: int


_FLOW_FIELDS = ("id", "name", "job_id", "team_id", "status", "source_key", "loop_lifetime_seconds")
_FLOW_FOR_START = """
SELECT {flow_columns}, job.task_type, team.kind,
       job.items_total + COALESCE(SUM(counter.items_added), 0)
                       - COALESCE(SUM(counter.items_labeled), 0)
FROM workflows_flow AS flow
JOIN labeling_job AS job ON job.id = flow.job_id
JOIN labeling_team AS team ON team.id = flow.team_id
LEFT JOIN labeling_jobcounter AS counter ON counter.job_id = flow.job_id
WHERE flow.name = %s
GROUP BY {flow_columns}, job.task_type, job.items_total, team.kind
""".format(flow_columns=", ".join(f"flow.{name}" for name in _FLOW_FIELDS))


def flow_for_start(*, name: str) -> FlowForStart | None:
    """The flow named ``name`` for a StartHumanLoop call, in one plain query."""
    with connection.cursor() as cursor:
        cursor.execute(_FLOW_FOR_START, [name])
        row = cursor.fetchone()
    if row is None:
        return None
    flow_values = row[: len(_FLOW_FIELDS)]
    task_type, team_kind, open_loops = row[len(_FLOW_FIELDS) :]
    flow = Flow.from_db("default", list(_FLOW_FIELDS), flow_values)
    flow.job = Job.from_db("default", ["id", "task_type"], [flow.job_id, task_type])
    flow.team = Team.from_db("default", ["id", "kind"], [flow.team_id, team_kind])
    return FlowForStart(flow=flow, open_loops=int(open_loops))
