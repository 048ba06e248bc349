"""Webhook deliveries: one row per event, sent by a Celery task, retried with backoff.

Every attempt is written (and committed) before its request leaves, so a delivery is never
sent again without a recorded reason: the error or status of the attempt before, or that
the attempt before recorded no outcome (the worker stopped while it was sending).
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.after_commit import on_commit_safely
from labeling.outbound import body_signature as sign  # noqa: F401 - tests sign with it
from labeling.outbound import (
    delivery_headers,
    delivery_in_flight_until,
    delivery_post,
    delivery_retry_seconds,
)
from workflows.models import Flow, HumanLoop, WebhookAttempt, WebhookDelivery
from workflows.states import DeliveryStatus

REDELIVERY_BATCH_SIZE = 500
WEBHOOK_DELIVER_TASK = "workflows.webhook_deliver"


def delivery_create(
    *, loop: HumanLoop, event: str, output: dict[str, Any] | None
) -> WebhookDelivery | None:
    """Record the event for the flow's webhook (inside the caller's transaction) and send it
    once that commits. None when the flow has no webhook or the event was recorded before."""
    flow = loop.flow
    if not flow.webhook_url:
        return None
    delivery = WebhookDelivery(
        flow=flow, loop=loop, event=event, url=flow.webhook_url, next_attempt_at=timezone.now()
    )
    # The ARN is spelled here as in services/loops.py, which imports this module.
    payload = {
        "event": event,
        "deliveryId": str(delivery.delivery_id),
        "humanLoopName": loop.name,
        "humanLoopStatus": loop.status,
        "flowDefinitionArn": f"{settings.QUORUM_ARN_PREFIX}:flow-definition/{flow.name}",
        "failureReason": loop.failure_reason or None,
        "output": output,
    }
    delivery.body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        with transaction.atomic():
            delivery.save()
    except IntegrityError:
        return None
    # A lost message (the broker is down) is sent by the sweep's redelivery (deliveries_due).
    on_commit_safely(lambda: _enqueue(delivery.pk, 0), what=f"enqueueing delivery {delivery.pk}")
    return delivery


def flow_delivery_create(
    *, flow: Flow, event: str, payload: dict[str, Any]
) -> WebhookDelivery | None:
    """Record a flow-level event (a model-quality alert, a retraining request) for the flow's
    webhook inside the caller's transaction; signed, sent and retried like a loop's event.
    None when the flow has no webhook."""
    if not flow.webhook_url:
        return None
    delivery = WebhookDelivery(
        flow=flow, event=event, url=flow.webhook_url, next_attempt_at=timezone.now()
    )
    body = {
        "event": event,
        "deliveryId": str(delivery.delivery_id),
        "flowDefinitionArn": f"{settings.QUORUM_ARN_PREFIX}:flow-definition/{flow.name}",
        **payload,
    }
    delivery.body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    delivery.save()
    on_commit_safely(lambda: _enqueue(delivery.pk, 0), what=f"enqueueing delivery {delivery.pk}")
    return delivery


def _enqueue(delivery_pk: int, countdown: float) -> None:
    # By name: the task module imports this one.
    signature = current_app.signature(WEBHOOK_DELIVER_TASK, args=(delivery_pk,))
    signature.apply_async(countdown=countdown or None)


@dataclass(frozen=True)
class _Send:
    attempt_pk: int
    number: int
    url: str
    body: bytes
    headers: dict[str, str]


def _retry_reason(last: WebhookAttempt | None) -> str:
    if last is None:
        return ""
    if last.finished_at is None:
        return f"attempt {last.number} recorded no outcome: the worker stopped while sending"
    if last.error:
        return f"attempt {last.number} failed: {last.error}"[:300]
    return f"attempt {last.number} got HTTP {last.response_code}"


def _begin_attempt(delivery_pk: int) -> tuple[_Send | None, float | None]:
    """Record the next attempt; (what to send, None) or (None, seconds to wait or None)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("flow")
            .filter(pk=delivery_pk)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None, None
        last = delivery.tries.order_by("-number").first()
        in_flight_until = (
            delivery_in_flight_until(last.started_at, last.finished_at) if last else None
        )
        if in_flight_until and in_flight_until > now:
            return None, (in_flight_until - now).total_seconds()
        if delivery.next_attempt_at > now + timedelta(seconds=1):
            return None, None  # early: the message of that retry is on its way
        number = delivery.attempts + 1
        attempt = WebhookAttempt.objects.create(
            delivery=delivery, number=number, started_at=now, retry_reason=_retry_reason(last)
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=number)
    body = delivery.body.encode()
    headers = delivery_headers(
        body,
        delivery.flow.webhook_secret,
        event=delivery.event,
        delivery_id=str(delivery.delivery_id),
        attempt=number,
        agent="Quorum-Webhooks/1",
    )
    return _Send(attempt.pk, number, delivery.url, body, headers), None


def _post(send: _Send) -> tuple[int | None, str]:
    """Under the outbound rules (labeling/outbound.py): no inside address unless allowed, no
    redirect followed (a 3xx is a failed attempt), coarse errors."""
    return delivery_post(send.url, send.body, send.headers)


def delivery_send(*, delivery_pk: int) -> float | None:
    """Make one attempt at a pending delivery. Returns the seconds after which to try again,
    or None when there is nothing more to do (sent, given up, or another attempt owns it)."""
    send, wait = _begin_attempt(delivery_pk)
    if send is None:
        return wait
    code, error = _post(send)
    ok = code is not None and 200 <= code < 300
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.filter(pk=send.attempt_pk).update(
            finished_at=now, response_code=code, error=error
        )
        fields: dict[str, Any] = {"response_code": code, "last_error": error}
        if not error and not ok:
            fields["last_error"] = f"HTTP {code}"
        retry_in = None
        if ok:
            fields.update(status=DeliveryStatus.SUCCEEDED, finished_at=now, last_error="")
        elif send.number >= settings.QUORUM_WEBHOOK_MAX_ATTEMPTS:
            fields.update(status=DeliveryStatus.FAILED, finished_at=now)
        else:
            retry_in = delivery_retry_seconds(send.number)
            fields["next_attempt_at"] = now + timedelta(seconds=retry_in)
        WebhookDelivery.objects.filter(pk=delivery_pk, status=DeliveryStatus.PENDING).update(
            **fields
        )
    return retry_in


def deliveries_due(*, now=None, grace_seconds: float | None = None) -> list[int]:
    """Pending deliveries overdue by ``grace_seconds``: their message was lost (a worker died
    holding it, or the broker dropped it). The sweep sends them again."""
    now = now or timezone.now()
    if grace_seconds is None:
        grace_seconds = settings.QUORUM_WEBHOOK_REDELIVERY_GRACE_SECONDS
    return list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now - timedelta(seconds=grace_seconds),
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:REDELIVERY_BATCH_SIZE]
    )


def enqueue_delivery(delivery_pk: int, countdown: float = 0) -> None:
    _enqueue(delivery_pk, countdown)
