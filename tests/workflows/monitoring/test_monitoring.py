"""Model-quality monitoring end to end: versions, the random audit only, late labels in their
window, alerts and recovery with signed and retried webhooks, baselines, retraining."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import client_for
from tests.workflows.monitoring.conftest import give_labels, post
from workflows.models import (
    Flow,
    HumanLoop,
    ModelBaseline,
    Prediction,
    QualityAlert,
    WebhookAttempt,
    WebhookDelivery,
)
from workflows.monitoring.events import retrain_requested
from workflows.monitoring.selectors import quality_figures
from workflows.monitoring.services.alerts import monitoring_evaluate
from workflows.monitoring.services.baselines import baseline_set
from workflows.monitoring.services.config import monitor_config_update
from workflows.services.loops import human_loop_start
from workflows.services.webhooks import delivery_send, sign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    """The broker hop only: the tests make each webhook attempt themselves."""
    sent: list[int] = []
    monkeypatch.setattr(
        "workflows.services.webhooks._enqueue", lambda pk, countdown: sent.append(pk)
    )
    return sent


def test_a_prediction_names_its_model_and_version_on_every_way_in(audited_flow, manager_client):
    flow = audited_flow()
    (loop,) = post(flow, 1, version="2026-12-01", model="fraud-bert")
    stored = Prediction.objects.get(flow=flow)
    assert (stored.model_name, stored.model_version) == ("fraud-bert", "2026-12-01")
    assert (loop.model_name, loop.model_version, loop.route_reason) == (
        "fraud-bert",
        "2026-12-01",
        "sample",
    )
    # StartHumanLoop's input content carries it in its "prediction" object.
    started = human_loop_start(
        flow=flow,
        name="started-1",
        input_content=json.dumps(
            {"source": "x", "prediction": {"label": "cat", "modelVersion": "v9"}}
        ),
    )
    assert (started.model_version, started.route_reason) == ("v9", "")
    response = manager_client.post(
        f"/api/v1/flows/{flow.pk}/loops",
        {
            "name": "rest-1",
            "input": {"source": "y"},
            "prediction": {"label": "dog", "model_version": "v3"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert HumanLoop.objects.get(name="rest-1").model_version == "v3"
    refused = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions",
        {"id": "bad", "input": {}, "prediction": {"label": "cat", "model_version": "v" * 101}},
        format="json",
    )
    assert refused.status_code == 400
    assert "model_version" in refused.json()["error"]["message"]


def test_only_the_random_audit_enters_the_estimates_and_rule_loops_stand_beside(make_flow):
    flow = make_flow(conditions={"confidence_below": 0.5}, sample_percent=30)
    unsure = post(flow, 120, confidence=0.3)  # all go to people by the rule, ~30 % also sampled
    sure = post(flow, 200, confidence=0.95)  # only the sampled ones go
    audit = [loop for loop in unsure + sure if "sample" in loop.route_reason]
    rule_only = [loop for loop in unsure if loop.route_reason == "condition"]
    assert 40 < len(audit) < 120 and len(rule_only) > 60
    give_labels(audit, True)
    give_labels(rule_only, False)  # the hard cases: the model is always wrong there
    figures = quality_figures(flow=flow, model_version="v1", window="day")
    assert figures["overall"] == {"labels": len(audit), "accuracy": 1.0}
    assert figures["rule_loops"]["labels"] == len(rule_only)
    assert figures["rule_loops"]["accuracy"] == 0.0
    (window,) = figures["windows"]
    assert window["labels"] == len(audit) and window["rule_labels"] == len(rule_only)
    assert window["low"] < 1.0 and window["high"] == pytest.approx(1.0)
    (routed,) = figures["routed"]
    assert routed["predictions"] == 320
    assert routed["reviewed"] == len(unsure) + len(sure)
    assert routed["sample"] == len(audit)


def test_a_late_label_lands_in_its_predictions_window(audited_flow, labeler):
    flow = audited_flow()
    predicted = timezone.now() - timedelta(hours=5)
    post(flow, 1, predicted_at=predicted)
    client = client_for(labeler)
    lease = client.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answer = {"category": {"label": "cat"}}
    submitted = client.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit", {"answer": answer}, format="json"
    )
    assert submitted.status_code == 201, submitted.content
    loop = HumanLoop.objects.get(flow=flow)
    assert loop.status == "Completed" and loop.completed_at > predicted + timedelta(hours=4)
    figures = quality_figures(flow=flow, window="hour")
    (window,) = figures["windows"]
    expected = predicted.replace(minute=0, second=0, microsecond=0)
    assert window["start"] == expected.isoformat().replace("+00:00", "Z")
    assert (window["labels"], window["accuracy"]) == (1, 1.0)


def _quick_detector(flow, **more):
    # h = ln(200): a fast alarm for a test of a few hundred labels.
    monitor_config_update(flow=flow, false_alarm_labels=200, **more)


def test_an_alert_opens_with_a_signed_retried_webhook_raises_the_audit_and_clears(
    audited_flow, webhook_receiver, enqueued, settings, manager
):
    settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS = 1
    flow = audited_flow(webhook_url=webhook_receiver.url, sample_percent=5)
    _quick_detector(flow, boosted_sample_percent=20)
    baseline_set(flow=flow, model_version="v1", accuracy=0.92)
    # Every prediction of this test is audited: routed through a copy of the flow at 100 %,
    # while the stored flow audits 5 %.
    everything = Flow.objects.select_related("job", "team").get(pk=flow.pk)
    everything.sample_percent = 100
    good = post(everything, 150)
    bad = post(everything, 150)
    start = timezone.now() - timedelta(hours=2)
    give_labels(good, True, at=start)
    give_labels(bad, [i % 3 != 0 for i in range(150)], at=start + timedelta(minutes=10))
    result = monitoring_evaluate(flow=flow)
    alert = QualityAlert.objects.get(flow=flow, kind="accuracy")
    assert result["opened"] == [alert.pk] and alert.status == "open"
    assert alert.estimate < 0.8 and alert.estimate <= alert.bound < alert.threshold + 0.2
    assert alert.threshold == pytest.approx(0.90)
    assert alert.most_confused[0] == {
        "human": "dog",
        "model": "cat",
        "count": alert.most_confused[0]["count"],
    }
    assert alert.window == "hour"
    # It shows on the console's flows list and on the flow's page.
    browser = Client()
    browser.force_login(manager)
    assert 'data-open-alerts="1"' in browser.get("/console/flows/").content.decode()
    assert f'data-alert="{alert.pk}"' in browser.get(f"/console/flows/{flow.pk}/").content.decode()
    # More evidence while it is open: the audit share rose.
    flow.refresh_from_db()
    assert flow.sample_percent == 20
    # The alert went out signed; a refused first attempt is retried with its reason.
    delivery = WebhookDelivery.objects.get(flow=flow, event="model_quality.alert")
    webhook_receiver.status = 500
    assert delivery_send(delivery_pk=delivery.pk) == 1
    webhook_receiver.status = 200
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_pk=delivery.pk) is None
    hits = webhook_receiver.verified(flow.webhook_secret)
    assert len(hits) == 2 and [hit["attempt"] for hit in hits] == [1, 2]
    assert hits[0]["event"] == "model_quality.alert"
    body = hits[1]["body"]
    assert body["alert"]["status"] == "open" and body["alert"]["model_version"] == "v1"
    assert {"window", "window_start", "estimate", "bound", "most_confused"} <= set(body["alert"])
    assert WebhookAttempt.objects.get(delivery=delivery, number=2).retry_reason == (
        "attempt 1 got HTTP 500"
    )
    # Evaluating again opens nothing twice.
    assert monitoring_evaluate(flow=flow)["opened"] == []
    assert QualityAlert.objects.filter(flow=flow).count() == 1
    # The model recovers: the alert clears, the webhook says so, the audit share falls back.
    recovered = post(everything, 300)
    give_labels(recovered, True, at=start + timedelta(minutes=30))
    monitoring_evaluate(flow=flow)
    alert.refresh_from_db()
    assert alert.status == "cleared" and alert.cleared_at is not None
    flow.refresh_from_db()
    assert flow.sample_percent == 5  # its own share again
    cleared = WebhookDelivery.objects.filter(flow=flow, event="model_quality.alert").order_by("pk")
    assert cleared.count() == 2
    last = json.loads(cleared.last().body)
    assert last["alert"]["status"] == "cleared" and last["alert"]["cleared_at"]
    assert sign(cleared.last().body.encode(), flow.webhook_secret).startswith("sha256=")


def test_a_version_switch_starts_its_own_record(audited_flow):
    flow = audited_flow()
    _quick_detector(flow)
    baseline_set(flow=flow, model_version="v1", accuracy=0.92)
    baseline_set(flow=flow, model_version="v2", metrics={"accuracy": 0.93, "f1": 0.9})
    start = timezone.now() - timedelta(hours=1)
    give_labels(post(flow, 200, version="v1"), [i % 4 != 0 for i in range(200)], at=start)
    give_labels(post(flow, 200, version="v2"), True, at=start + timedelta(minutes=5))
    monitoring_evaluate(flow=flow)
    assert list(QualityAlert.objects.values_list("model_version", "kind")) == [("v1", "accuracy")]
    v1 = quality_figures(flow=flow, model_version="v1", window="day")
    v2 = quality_figures(flow=flow, model_version="v2", window="day")
    assert v1["overall"] == {"labels": 200, "accuracy": 0.75}
    assert v2["overall"] == {"labels": 200, "accuracy": 1.0}
    assert v2["baseline"]["source"] == "validation" and v2["baseline"]["metrics"]["f1"] == 0.9
    assert v2["alerts"] == [] and len(v1["alerts"]) == 1
    newest = quality_figures(flow=flow, window="day")
    assert newest["model_versions"] == ["v2", "v1"]  # newest first
    # A canary read against the running version: side by side, with intervals.
    compared = {row["model_version"]: row for row in newest["versions"]}
    assert compared["v1"]["accuracy"] == 0.75 and compared["v2"]["accuracy"] == 1.0
    assert compared["v1"]["high"] < compared["v2"]["low"]


def test_a_baseline_is_estimated_from_the_first_audited_window(audited_flow):
    flow = audited_flow()
    two_days_ago = timezone.now() - timedelta(days=2)
    first = post(flow, 250, predicted_at=two_days_ago)
    give_labels(first, [i % 10 != 0 for i in range(250)])
    monitoring_evaluate(flow=flow)
    baseline = ModelBaseline.objects.get(flow=flow, model_version="v1")
    assert baseline.source == "first_window"
    assert baseline.accuracy == pytest.approx(0.9)
    assert baseline.metrics["labels"] == 250


def test_an_alert_asks_for_retraining_by_signed_webhook_and_for_a_round(
    audited_flow, webhook_receiver, make_job, manager_client
):
    dataset = make_job(items=1)
    flow = audited_flow(webhook_url=webhook_receiver.url, dataset_job=dataset)
    _quick_detector(flow, retrain_on_alert=True)
    baseline_set(flow=flow, model_version="v1", accuracy=0.95)
    asked = []

    def receive(sender, **kwargs):
        asked.append(kwargs)

    retrain_requested.connect(receive, dispatch_uid="test-retrain")
    try:
        give_labels(post(flow, 200), [i % 3 != 0 for i in range(200)])
        result = monitoring_evaluate(flow=flow)
    finally:
        retrain_requested.disconnect(dispatch_uid="test-retrain")
    assert result["retrain"]["reason"] == "alert"
    assert asked and asked[0]["job_id"] == dataset.pk and asked[0]["reason"] == "alert"
    hits = [hit for hit in webhook_receiver.verified(flow.webhook_secret)]
    retrain = [hit["body"] for hit in hits if hit["event"] == "model.retrain"]
    assert len(retrain) == 1
    link = retrain[0]["datasetExport"]
    assert link.startswith(f"/api/v1/flows/{flow.pk}/monitoring/ground-truth?")
    exported = manager_client.get(link)
    assert exported.status_code == 200
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert len(lines) == 200


def test_enough_new_reviewed_labels_ask_for_retraining(audited_flow, webhook_receiver):
    flow = audited_flow(webhook_url=webhook_receiver.url)
    monitor_config_update(flow=flow, retrain_after_labels=50)
    give_labels(post(flow, 40), True)
    assert monitoring_evaluate(flow=flow)["retrain"] is None
    give_labels(post(flow, 20), True)
    assert monitoring_evaluate(flow=flow)["retrain"]["reason"] == "labels"
    assert monitoring_evaluate(flow=flow)["retrain"] is None  # counted from the request on
