"""Webhooks under the outbound rules: refused URLs at save time with a named reason, inside
addresses refused at send time with nothing sent, redirects recorded as failed attempts and
never followed, coarse errors. Nothing here connects anywhere but loopback."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labeling.errors import ValidationFailed
from workflows.models import Flow, WebhookAttempt, WebhookDelivery
from workflows.services.loops import human_loop_start
from workflows.services.webhooks import delivery_create, delivery_send
from workflows.states import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[int]:
    """The broker hop only: these tests make each attempt themselves."""
    sent: list[int] = []
    monkeypatch.setattr(
        "workflows.services.webhooks._enqueue", lambda pk, countdown: sent.append(pk)
    )
    return sent


def _delivery(flow, name: str) -> WebhookDelivery:
    loop = human_loop_start(flow=flow, name=name, input_content='{"source": "x"}')
    delivery = delivery_create(loop=loop, event=WebhookEvent.FAILED, output=None)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    return delivery


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(make_flow, webhook_receiver):
    webhook_receiver.status = 302
    webhook_receiver.location = webhook_receiver.url + "/moved"
    flow = make_flow(webhook_url=webhook_receiver.url)
    delivery = _delivery(flow, "moved-1")
    delivery_send(delivery_pk=delivery.pk)
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (stored.status, stored.response_code, stored.last_error) == ("pending", 302, "HTTP 302")
    (attempt,) = WebhookAttempt.objects.filter(delivery=stored)
    assert attempt.response_code == 302 and attempt.finished_at is not None
    assert [hit["event"] for hit in webhook_receiver.received] == ["human_loop.failed"]  # no GET


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/in", "scheme_not_allowed"),
        ("http://user:pass@hooks.example.com/in", "credentials_in_url"),
        ("http://169.254.169.254/latest/meta-data/", "address_not_allowed"),
        ("http://10.0.0.8/in", "address_not_allowed"),
        ("http://127.0.0.1:8150/in", "address_not_allowed"),
        ("http://[::1]:8150/in", "address_not_allowed"),
    ],
)
def test_flow_creation_refuses_the_url_naming_the_reason(
    url, reason, manager_client, team, make_flow, settings
):
    settings.QUORUM_OUTBOUND_ALLOW = []
    response = manager_client.post(
        "/api/v1/flows",
        {"name": "hooked", "team": team.pk, "task_type": "text-classification",
         "labels": ["a", "b"], "webhook_url": url},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "webhook_url_not_allowed"
    assert error["details"] == {"field": "webhook_url", "reason": reason}
    with pytest.raises(ValidationFailed):
        make_flow(webhook_url=url)
    assert not Flow.objects.exists()


def test_the_console_form_refuses_credentials_in_the_url(manager, team):
    web = Client()
    web.force_login(manager)
    page = web.post(
        "/console/flows/new",
        {"name": "hooked", "task_type": "text-classification", "labels": "a\nb",
         "team": team.pk, "workers_per_loop": 1, "task_time_limit_seconds": 300,
         "loop_lifetime_hours": 1, "webhook_url": "https://me:secret@hooks.example.com/in"},
    )  # fmt: skip
    assert page.status_code == 200
    assert "credentials_in_url" in page.context["form"].errors["webhook_url"][0]
    assert not Flow.objects.filter(name="hooked").exists()


def test_an_inside_address_is_refused_at_send_time_with_nothing_sent(
    make_flow, webhook_receiver, settings
):
    """localhost passes the save-time check (no lookup then); at send time it resolves to
    loopback, which is not allowed once the allowance is gone: nothing reaches the receiver."""
    port = webhook_receiver.url.split(":")[2].split("/")[0]
    flow = make_flow(webhook_url=f"http://localhost:{port}/hook")
    settings.QUORUM_OUTBOUND_ALLOW = []
    delivery = _delivery(flow, "inside-1")
    delivery_send(delivery_pk=delivery.pk)
    stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (stored.response_code, stored.last_error) == (None, "address not allowed")
    assert webhook_receiver.received == []
    # Allowed again (the operator's list), the same delivery goes through.
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.0/8", "::1/128"]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    delivery_send(delivery_pk=delivery.pk)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded"
    assert len(webhook_receiver.verified(flow.webhook_secret)) == 1
