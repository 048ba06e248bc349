"""The calibration alert (over-confidence) is stored, webhooked and cleared like the accuracy
alert: a model right half the time that states 0.99 raises it; the same model stating its
confidence low clears it. The accuracy alert stays quiet (accuracy is at its baseline)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows.monitoring.conftest import give_labels, post
from workflows.models import QualityAlert, WebhookDelivery
from workflows.monitoring.services.alerts import monitoring_evaluate
from workflows.monitoring.services.baselines import baseline_set
from workflows.monitoring.services.config import monitor_config_update

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(
        "workflows.services.webhooks._enqueue", lambda pk, countdown: sent.append(pk)
    )
    return sent


def test_over_confidence_opens_a_stored_webhooked_alert_that_clears(
    audited_flow, webhook_receiver, enqueued
):
    flow = audited_flow(webhook_url=webhook_receiver.url)
    monitor_config_update(flow=flow, false_alarm_labels=200)  # h = ln(200)
    baseline_set(flow=flow, model_version="v1", accuracy=0.5)
    half = [i % 2 == 0 for i in range(300)]
    start = timezone.now() - timedelta(hours=2)
    give_labels(post(flow, 300, confidence=0.99), half, at=start)
    monitoring_evaluate(flow=flow)
    alert = QualityAlert.objects.get(flow=flow)
    assert (alert.kind, alert.status) == ("calibration", "open")
    assert alert.estimate == pytest.approx(0.49, abs=0.01)  # the mean gap
    assert alert.threshold == 0.05
    # Stated confidence back in line (here below the accuracy): the evidence recovers.
    give_labels(post(flow, 300, confidence=0.01), half, at=start + timedelta(minutes=30))
    monitoring_evaluate(flow=flow)
    alert.refresh_from_db()
    assert alert.status == "cleared" and alert.cleared_at is not None
    assert not QualityAlert.objects.filter(flow=flow, kind="accuracy").exists()
    sent = [
        json.loads(row.body)["alert"]
        for row in WebhookDelivery.objects.filter(flow=flow, event="model_quality.alert").order_by(
            "pk"
        )
    ]
    assert [(body["kind"], body["status"]) for body in sent] == [
        ("calibration", "open"),
        ("calibration", "cleared"),
    ]
