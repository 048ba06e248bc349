"""Webhook deliveries: retries with backoff and a recorded reason, giving up, signatures."""

from datetime import timedelta

import pytest
from django.utils import timezone

from workflows.models import WebhookAttempt, WebhookDelivery
from workflows.services.loops import human_loop_start
from workflows.services.webhooks import deliveries_due, delivery_create, delivery_send, sign
from workflows.states import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _due_now(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[int]:
    """The broker hop only: these tests make each attempt themselves."""
    sent: list[int] = []
    monkeypatch.setattr(
        "workflows.services.webhooks._enqueue", lambda pk, countdown: sent.append(pk)
    )
    return sent


@pytest.fixture
def delivery(make_flow, webhook_receiver, settings):
    settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.QUORUM_WEBHOOK_MAX_ATTEMPTS = 3
    flow = make_flow(webhook_url=webhook_receiver.url)
    loop = human_loop_start(flow=flow, name="hook-1", input_content='{"source": "x"}')
    return delivery_create(loop=loop, event=WebhookEvent.FAILED, output=None)


def test_a_refused_delivery_is_retried_with_backoff_and_a_reason(
    delivery, webhook_receiver, enqueued
):
    assert enqueued == [delivery.pk]  # sent for on commit
    webhook_receiver.status = 500
    assert delivery_send(delivery_pk=delivery.pk) == 10  # retry in 10 s
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (stored.status, stored.attempts, stored.response_code) == ("pending", 1, 500)
    assert stored.next_attempt_at > timezone.now() + timedelta(seconds=8)
    assert delivery_send(delivery_pk=delivery.pk) is None  # not due: nothing sent
    assert len(webhook_receiver.received) == 1

    webhook_receiver.status = 204
    _due_now(stored)
    assert delivery_send(delivery_pk=delivery.pk) is None
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.response_code) == ("succeeded", 2, 204)
    second = WebhookAttempt.objects.get(delivery=stored, number=2)
    assert second.retry_reason == "attempt 1 got HTTP 500"
    hits = webhook_receiver.received
    assert [hit["attempt"] for hit in hits] == [1, 2]
    assert {hit["delivery"] for hit in hits} == {str(stored.delivery_id)}
    assert all(hit["signature"] == sign(hit["raw"], stored.flow.webhook_secret) for hit in hits)
    assert delivery_send(delivery_pk=delivery.pk) is None  # succeeded: never sent again
    assert len(webhook_receiver.received) == 2


def test_a_delivery_gives_up_after_its_attempts(delivery, webhook_receiver):
    webhook_receiver.status = 503
    for _ in range(4):
        _due_now(delivery)
        delivery_send(delivery_pk=delivery.pk)
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (stored.status, stored.attempts, stored.last_error) == ("failed", 3, "HTTP 503")
    assert len(webhook_receiver.received) == 3


def test_an_unreachable_receiver_is_an_error_with_a_reason(make_flow, outbound_loopback_allowed):
    flow = make_flow(webhook_url="http://127.0.0.1:9/closed")
    loop = human_loop_start(flow=flow, name="hook-2", input_content='{"source": "x"}')
    delivery = delivery_create(loop=loop, event=WebhookEvent.STOPPED, output=None)
    assert delivery_create(loop=loop, event=WebhookEvent.STOPPED, output=None) is None  # once
    _due_now(delivery)
    delivery_send(delivery_pk=delivery.pk)
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert stored.status == "pending" and stored.response_code is None
    assert stored.last_error == "connection refused"  # coarse: no socket details
    # Overdue (its message lost): the sweep finds it.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert deliveries_due() == [delivery.pk]
