"""While an alert has raised the flow's audit share, a manager may set another one: when the
alert clears, the manager's share is kept (not overwritten by the share saved before)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workflows.monitoring.conftest import give_labels, post
from workflows.models import Flow, MonitorConfig, QualityAlert
from workflows.monitoring.services.alerts import monitoring_evaluate
from workflows.monitoring.services.baselines import baseline_set
from workflows.monitoring.services.config import monitor_config_update

pytestmark = pytest.mark.django_db(transaction=True)


def _raised_flow(audited_flow):
    """A flow auditing 5 % whose model dropped: an alert is open and the share is at 20 %.
    Returns the flow, a copy routing at 100 % (every prediction audited) and a start time."""
    flow = audited_flow(sample_percent=5)
    monitor_config_update(flow=flow, false_alarm_labels=200, boosted_sample_percent=20)
    baseline_set(flow=flow, model_version="v1", accuracy=0.92)
    everything = Flow.objects.select_related("job", "team").get(pk=flow.pk)
    everything.sample_percent = 100
    start = timezone.now() - timedelta(hours=2)
    give_labels(post(everything, 150), True, at=start)
    give_labels(
        post(everything, 150),
        [i % 3 != 0 for i in range(150)],
        at=start + timedelta(minutes=10),
    )
    monitoring_evaluate(flow=flow)
    assert QualityAlert.objects.get(flow=flow).status == "open"
    flow.refresh_from_db()
    assert flow.sample_percent == 20
    return flow, everything, start


def _recover(flow, everything, start):
    give_labels(post(everything, 300), True, at=start + timedelta(minutes=30))
    monitoring_evaluate(flow=flow)
    assert QualityAlert.objects.get(flow=flow).status == "cleared"
    flow.refresh_from_db()


def test_a_share_the_manager_set_while_raised_is_kept_when_the_alert_clears(
    audited_flow, manager_client
):
    flow, everything, start = _raised_flow(audited_flow)
    url = f"/api/v1/flows/{flow.pk}/monitoring/settings"
    response = manager_client.patch(url, {"sample_percent": 30}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sample_percent"] == 30 and response.json()["sample_boosted"]
    # Evaluating while the alert is still open leaves the manager's share alone.
    monitoring_evaluate(flow=flow)
    flow.refresh_from_db()
    assert flow.sample_percent == 30
    _recover(flow, everything, start)
    assert flow.sample_percent == 30  # the manager's, not the 5 % saved before the alert
    assert not MonitorConfig.objects.get(flow=flow).sample_boosted
    assert manager_client.get(url).json()["sample_percent"] == 30


def test_an_untouched_raised_share_falls_back_and_a_bad_share_is_refused(
    audited_flow, manager_client
):
    flow, everything, start = _raised_flow(audited_flow)
    url = f"/api/v1/flows/{flow.pk}/monitoring/settings"
    refused = manager_client.patch(url, {"sample_percent": 0, "tolerance": 0.03}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["details"] == {
        "field": "sample_percent"
    }
    assert MonitorConfig.objects.get(flow=flow).tolerance == 0.02  # nothing half-applied
    _recover(flow, everything, start)
    assert flow.sample_percent == 5  # its own share again
