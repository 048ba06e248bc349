"""A streaming job's per-item webhook: each feed row sent once it has its place, signed.

Deliveries go in order per item: a row is not sent while an earlier row of its item is still
pending, and the earlier row's end (delivered or given up) sends it, so a relabel never
arrives before the result it replaces. Each attempt is written
(and committed) before its request leaves, so none is sent without a record; a failed one is
tried again after a doubling wait, up to ``QUORUM_WEBHOOK_MAX_ATTEMPTS`` (the review loops'
webhook settings), and the sweep resends a row whose message was lost.
"""

from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling.after_commit import run_safely
from labeling.crypto import SecretUnreadable, secret_decrypt
from labeling.models import (
    StreamDeliveryAttempt,
    StreamDeliveryStatus,
    StreamEvent,
    StreamSettings,
)
from labeling.outbound import (
    delivery_headers,
    delivery_in_flight_until,
    delivery_post,
    delivery_retry_seconds,
)

STREAM_DELIVER_TASK = "labeling.pipelines_stream_deliver"
RESEND_BATCH_SIZE = 500


def stream_delivery_enqueue(event_id: int, countdown: float = 0) -> None:
    # By name: the task module imports this one.
    current_app.signature(STREAM_DELIVER_TASK, args=(event_id,)).apply_async(
        countdown=countdown or None
    )


def stream_deliveries_enqueue(event_ids: list[int]) -> None:
    """Send each after the sequencer's commit; a lost message is the sweep's to resend."""
    for event_id in event_ids:
        run_safely(
            lambda event_id=event_id: stream_delivery_enqueue(event_id),
            what=f"enqueueing stream delivery {event_id}",
        )


@dataclass(frozen=True)
class _Request:
    attempt_id: int
    number: int
    item_id: int
    seq: int
    url: str
    body: bytes
    headers: dict[str, str]


def _open_attempt(event_id: int) -> tuple[_Request | None, float | None]:
    """Record the next attempt: (the request, None), or (None, seconds to wait, or None when
    there is nothing to send)."""
    now = timezone.now()
    with transaction.atomic():
        event = StreamEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.delivery_status != StreamDeliveryStatus.PENDING:
            return None, None
        if StreamEvent.objects.filter(
            item_id=event.item_id,
            seq__lt=event.seq,
            delivery_status=StreamDeliveryStatus.PENDING,
        ).exists():
            return None, None  # the earlier row's end sends this one (or the sweep does)
        last = event.attempts_made.order_by("-number").first() if event.attempts else None
        busy_until = delivery_in_flight_until(last.started_at, last.finished_at) if last else None
        if busy_until and busy_until > now:
            return None, (busy_until - now).total_seconds()
        if event.next_attempt_at and event.next_attempt_at > now + timedelta(seconds=1):
            return None, None  # its retry's message is on its way
        stream = StreamSettings.objects.get(job_id=event.job_id)
        number = event.attempts + 1
        attempt = StreamDeliveryAttempt.objects.create(event=event, number=number, started_at=now)
        StreamEvent.objects.filter(pk=event.pk).update(attempts=number)
    try:
        secret = secret_decrypt(stream.webhook_secret)
    except SecretUnreadable:
        secret = ""  # the receiver refuses the signature; the attempt records its answer
    body = event.body.encode()
    headers = delivery_headers(
        body,
        secret,
        event=body_event_name(event.body),
        delivery_id=f"stream-{event.pk}",
        attempt=number,
        agent="Quorum-Streaming/1",
    )
    request = _Request(
        attempt.pk, number, event.item_id, event.seq, stream.webhook_url, body, headers
    )
    return request, None


def body_event_name(body: str) -> str:
    """The event's name as its body spells it (``item.consolidated`` …), read cheaply."""
    start = body.find('"event":"')
    if start < 0:
        return ""
    start += len('"event":"')
    return body[start : body.find('"', start)]


@dataclass(frozen=True)
class DeliveryOutcome:
    retry_in: float | None = None  # seconds until this row's next attempt
    next_event_id: int | None = None  # the item's next row, whose turn has come


def stream_delivery_send(*, event_id: int) -> DeliveryOutcome:
    """One attempt at a row's webhook: when to try it again, or which row of the item to send
    next once this one has ended (delivered or given up); neither when another attempt owns
    it or an earlier row of the item goes first."""
    request, wait = _open_attempt(event_id)
    if request is None:
        return DeliveryOutcome(retry_in=wait)
    if not request.url:
        outcome_code, outcome_error = None, "the job's webhook was removed"
    else:
        outcome_code, outcome_error = delivery_post(request.url, request.body, request.headers)
    delivered = outcome_code is not None and 200 <= outcome_code < 300
    now = timezone.now()
    with transaction.atomic():
        StreamDeliveryAttempt.objects.filter(pk=request.attempt_id).update(
            finished_at=now, response_code=outcome_code, error=outcome_error[:300]
        )
        update = {
            "response_code": outcome_code,
            "last_error": (outcome_error or ("" if delivered else f"HTTP {outcome_code}"))[:300],
        }
        again = None
        if delivered:
            update.update(delivery_status=StreamDeliveryStatus.SUCCEEDED, delivered_at=now)
        elif request.number >= settings.QUORUM_WEBHOOK_MAX_ATTEMPTS or not request.url:
            update["delivery_status"] = StreamDeliveryStatus.FAILED
        else:
            again = delivery_retry_seconds(request.number)
            update["next_attempt_at"] = now + timedelta(seconds=again)
        StreamEvent.objects.filter(
            pk=event_id, delivery_status=StreamDeliveryStatus.PENDING
        ).update(**update)
    if again is not None:
        return DeliveryOutcome(retry_in=again)
    return DeliveryOutcome(next_event_id=_next_of_item(request.item_id, request.seq))


def _next_of_item(item_id: int, seq: int) -> int | None:
    return (
        StreamEvent.objects.filter(
            item_id=item_id, seq__gt=seq, delivery_status=StreamDeliveryStatus.PENDING
        )
        .order_by("seq")
        .values_list("pk", flat=True)
        .first()
    )


def stream_deliveries_overdue(*, grace_seconds: float | None = None, now=None) -> list[int]:
    """Pending rows whose next attempt is overdue by ``grace_seconds``: their message was
    lost. The sweep sends them again."""
    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.QUORUM_WEBHOOK_REDELIVERY_GRACE_SECONDS
    return list(
        StreamEvent.objects.filter(
            delivery_status=StreamDeliveryStatus.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=grace_seconds),
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:RESEND_BATCH_SIZE]
    )
