"""The accuracy of a job's automated labels over their audits is a real alert, like a flow's
model: stored (open, then cleared), shown on the job's automated-labeling page and on the
console's flows list, sent as a signed ``model_quality.alert`` webhook with the job as its
subject to the flows whose dataset job it is, and evaluated by the monitoring sweep."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from active_learning.models import AutoLabel
from active_learning.services.audits import audit_start
from active_learning.services.monitoring import auto_label_alerts_evaluate
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from tests.active_learning.conftest import CLASSES, humans_label
from tests.conftest import client_for
from tests.workflows import conftest as review_loop_fixtures
from workflows.models import JobQualityAlert, WebhookDelivery
from workflows.monitoring.services.alerts import job_alerts_sync
from workflows.monitoring.tasks import monitoring_sweep_task
from workflows.services.flows import flow_create
from workflows.services.webhooks import delivery_send

# The receiving HTTP server of the review loops' tests (and the outbound rule it needs).
webhook_receiver = review_loop_fixtures.webhook_receiver
outbound_loopback_allowed = review_loop_fixtures.outbound_loopback_allowed


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The broker hop only: the test makes each webhook attempt itself."""
    sent: list[int] = []
    monkeypatch.setattr(
        "workflows.services.webhooks._enqueue", lambda pk, countdown: sent.append(pk)
    )
    return sent


def _feeding_flow(job, manager, team, **fields):
    return flow_create(
        created_by=manager,
        name=f"feeds-{job.pk}",
        team=team,
        task_type="text-classification",
        labels=list(job.labels),
        short_instructions="Check.",
        dataset_job=job,
        **fields,
    )


@pytest.mark.django_db
def test_a_failed_audit_opens_a_stored_alert_shown_and_webhooked_by_the_sweep(
    text_job,
    manager,
    labeler,
    team,
    webhook_receiver,
    enqueued,
):
    job = text_job(300)
    auto_labeling_enable(
        job=job, by=manager, seed=2, validation_size=80, round_every=1000, min_training_labels=20
    )
    humans_label(job, labeler, 140)
    assert round_run(round_id=round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL).pk) == (
        RoundStatus.DONE
    )
    flow = _feeding_flow(job, manager, team, webhook_url=webhook_receiver.url)
    audit = audit_start(job=job, by=manager, sample_size=30, seed=5)
    audited = dict(AutoLabel.objects.filter(audit=audit).values_list("item_id", "label"))
    humans_label(
        job,
        labeler,
        30,
        answer_for=lambda item_id: next(c for c in CLASSES if c != audited.get(item_id)),
    )
    assert not JobQualityAlert.objects.filter(job=job).exists()  # nothing until evaluated
    # The monitoring sweep evaluates the job's automated labels too.
    assert monitoring_sweep_task.apply().get()["jobs"] >= 1
    alert = JobQualityAlert.objects.get(job=job)
    assert (alert.status, alert.kind, alert.estimate) == ("open", "auto_labels", 0.0)
    assert alert.baseline == audit.promised_accuracy
    assert alert.threshold == pytest.approx(audit.promised_accuracy - 0.02)
    assert alert.fired_by_item_id in audited and alert.labels <= 30
    # Evaluating again opens nothing twice.
    assert auto_label_alerts_evaluate(job=job) == []
    assert JobQualityAlert.objects.filter(job=job).count() == 1
    # Shown on the job's automated-labeling page and on the console's flows list.
    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"/console/jobs/{job.pk}/auto-labeling").content.decode()
    assert f'data-job-alert="{alert.pk}"' in page and 'id="al-alert-timeline"' in page
    assert 'data-job-alerts="1"' in browser.get("/console/flows/").content.decode()
    # And in the API beside the live detector.
    quality = client_for(manager).get(f"/api/v1/jobs/{job.pk}/auto-labeling/quality").json()
    assert [row["id"] for row in quality["alerts"]] == [alert.pk]
    assert quality["alerts"][0]["subject"] == {"job": job.pk}
    # The signed webhook to the flow whose dataset job it is.
    delivery = WebhookDelivery.objects.get(flow=flow, event="model_quality.alert")
    assert delivery_send(delivery_pk=delivery.pk) is None
    hits = webhook_receiver.verified(flow.webhook_secret)
    assert len(hits) == 1 and hits[0]["event"] == "model_quality.alert"
    sent = hits[0]["body"]["alert"]
    assert sent["subject"] == {"job": job.pk} and sent["kind"] == "auto_labels"
    assert sent["status"] == "open" and sent["estimate"] == 0.0


@pytest.mark.django_db
def test_a_stored_job_alert_clears_on_recovery_with_its_webhook(
    make_job,
    manager,
    team,
    webhook_receiver,
    enqueued,
):
    job = make_job(items=0, start=False, labels=CLASSES)
    flow = _feeding_flow(job, manager, team, webhook_url=webhook_receiver.url)
    now = timezone.now()
    episode = {
        "started_at": now - timedelta(hours=3),
        "fired_at": now - timedelta(hours=2),
        "cleared_at": None,
        "estimate": 0.61,
        "bound": 0.7,
        "labels": 40,
        "threshold": 0.88,
        "promised_accuracy": 0.9,
        "fired_by_item": 123,
    }
    opened = job_alerts_sync(job=job, episodes=[episode])
    assert len(opened) == 1 and opened[0].status == "open"
    # The detector's mirror CUSUM saw the accuracy back at the alert level: it clears once.
    recovered = {**episode, "cleared_at": now - timedelta(minutes=5)}
    assert job_alerts_sync(job=job, episodes=[recovered]) == []
    assert job_alerts_sync(job=job, episodes=[recovered]) == []
    alert = JobQualityAlert.objects.get(job=job)
    assert alert.status == "cleared" and alert.cleared_at == recovered["cleared_at"]
    bodies = [
        json.loads(row.body)["alert"]
        for row in WebhookDelivery.objects.filter(flow=flow, event="model_quality.alert").order_by(
            "pk"
        )
    ]
    assert [body["status"] for body in bodies] == ["open", "cleared"]
    assert bodies[1]["cleared_at"] and bodies[1]["subject"] == {"job": job.pk}
    # A new episode later is a new alert.
    again = {**episode, "fired_by_item": 456, "fired_at": now}
    assert len(job_alerts_sync(job=job, episodes=[recovered, again])) == 1
    assert JobQualityAlert.objects.filter(job=job, status="open").count() == 1
