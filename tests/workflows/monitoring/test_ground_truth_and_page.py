"""Ground truth in the monitoring merge format (parsed back), its CSV and schedule; the
monitoring API and page, for managers only."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import client_for
from tests.workflows.monitoring.conftest import give_labels, post
from workflows.models import Prediction
from workflows.monitoring.services.baselines import baseline_set
from workflows.monitoring.services.config import monitor_config_update
from workflows.monitoring.services.ground_truth import ground_truth_export
from workflows.monitoring.tasks import monitoring_sweep_task

pytestmark = pytest.mark.django_db(transaction=True)


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_ground_truth_export_parses_back_keyed_by_prediction_id(audited_flow, manager_client):
    flow = audited_flow()
    loops = post(flow, 4, version="v7", confidence=0.8)
    give_labels(loops, [True, False, True, False])
    ids = dict(Prediction.objects.filter(flow=flow).values_list("loop_name", "prediction_id"))
    response = manager_client.get(f"/api/v1/flows/{flow.pk}/monitoring/ground-truth")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jsonl"
    lines = [json.loads(line) for line in _body(response).splitlines()]
    assert len(lines) == 4
    for line, loop in zip(lines, loops, strict=True):
        assert set(line) == {"groundTruthData", "eventMetadata", "eventVersion"}
        assert line["eventMetadata"]["eventId"] == ids[loop.name]
        assert line["groundTruthData"]["encoding"] == "CSV"
        assert line["eventVersion"] == "0"
    assert [line["groundTruthData"]["data"] for line in lines] == ["cat", "dog", "cat", "dog"]

    response = manager_client.get(f"/api/v1/flows/{flow.pk}/monitoring/ground-truth?format=csv")
    rows = list(csv.reader(io.StringIO(_body(response))))
    assert rows[0] == [
        "prediction_id",
        "model_version",
        "predicted",
        "human",
        "confidence",
        "predicted_at",
        "labeled_at",
    ]
    assert rows[1][:5] == [ids[loops[0].name], "v7", "cat", "cat", "0.8"]
    assert rows[2][3] == "dog" and rows[1][6].endswith("Z")

    since = (timezone.now() - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    later = manager_client.get(f"/api/v1/flows/{flow.pk}/monitoring/ground-truth", {"since": since})
    assert len(_body(later).splitlines()) < 4


def test_the_scheduled_export_writes_new_labels_once_to_the_flows_location(audited_flow, settings):
    flow = audited_flow()
    monitor_config_update(
        flow=flow, ground_truth_uri="s3://monitor-bucket/gt", ground_truth_every_seconds=60
    )
    give_labels(post(flow, 3), True)
    counts = monitoring_sweep_task()
    assert counts == {"evaluated": 1, "exported": 1, "jobs": 0}  # new labels: evaluated
    files = sorted((settings.MEDIA_ROOT / "monitor-bucket" / "gt").rglob("*.jsonl"))
    assert len(files) == 1
    # The layout monitors read: <prefix>/YYYY/MM/DD/HH/<file>.
    assert len(files[0].relative_to(settings.MEDIA_ROOT / "monitor-bucket/gt").parts) == 5
    assert len(files[0].read_text().splitlines()) == 3
    assert monitoring_sweep_task() == {
        "evaluated": 0,
        "exported": 0,
        "jobs": 0,
    }  # nothing new, not due
    give_labels(post(flow, 2), True, at=timezone.now() + timedelta(seconds=1))
    result = ground_truth_export(flow=flow, now=timezone.now() + timedelta(seconds=5))
    assert result["rows"] == 2


def test_a_ground_truth_location_must_not_escape_the_media_root(audited_flow, manager_client):
    flow = audited_flow()
    for uri in ("/etc/x", "../up", "http://example.com/x"):
        response = manager_client.patch(
            f"/api/v1/flows/{flow.pk}/monitoring/settings",
            {"ground_truth_uri": uri},
            format="json",
        )
        assert response.status_code == 400, uri
        assert response.json()["error"]["code"] == "invalid"


def test_the_monitoring_api_and_page_are_for_managers(audited_flow, manager, labeler):
    flow = audited_flow()
    baseline_set(flow=flow, model_version="v1", accuracy=0.9)
    give_labels(post(flow, 30), [i % 5 != 0 for i in range(30)])
    labeler_api = client_for(labeler)
    for path in ("", "/alerts", "/settings", "/ground-truth"):
        assert labeler_api.get(f"/api/v1/flows/{flow.pk}/monitoring{path}").status_code == 403
    api = client_for(manager)
    figures = api.get(f"/api/v1/flows/{flow.pk}/monitoring", {"window": "day"}).json()
    assert figures["overall"]["labels"] == 30
    assert figures["overall"]["accuracy"] == pytest.approx(0.8)
    assert figures["baseline"]["alert_below"] == pytest.approx(0.88)
    assert figures["confusion"]["matrix"][1][0] == 6  # people said dog, model said cat
    assert api.get(f"/api/v1/flows/{flow.pk}/monitoring", {"window": "year"}).status_code == 400
    weekly = api.get(f"/api/v1/flows/{flow.pk}/monitoring", {"window": "week"}).json()
    (week,) = weekly["routed"]  # counted in the database, grouped by ISO week
    assert (week["predictions"], week["reviewed"], week["sample"]) == (30, 30, 30)
    assert weekly["windows"][0]["start"] == week["start"]
    evaluated = api.post(f"/api/v1/flows/{flow.pk}/monitoring/evaluate").json()
    assert evaluated["versions"] == ["v1"]
    settings_out = api.patch(
        f"/api/v1/flows/{flow.pk}/monitoring/settings", {"tolerance": 0.03}, format="json"
    ).json()
    assert settings_out["tolerance"] == 0.03
    posted = api.post(
        f"/api/v1/flows/{flow.pk}/monitoring/baselines",
        {"model_version": "v2", "metrics": {"accuracy": 0.91, "auc": 0.97}},
        format="json",
    )
    assert posted.status_code == 201 and posted.json()["source"] == "validation"

    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"/console/flows/{flow.pk}/monitoring?window=day")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") == 2 and 'id="confusion-table"' in html
    assert "baseline-band" in html and "0.800" in html
    assert "http" not in html.split('id="accuracy-chart"')[1].split("</figure>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )  # no CDN, no outside resource
    labeler_browser = Client()
    labeler_browser.force_login(labeler)
    assert labeler_browser.get(f"/console/flows/{flow.pk}/monitoring").status_code in (302, 403)


def test_ground_truth_goes_to_the_object_store_beside_the_flows_outputs(audited_flow, s3):
    """A flow made with an s3:// output path (CreateFlowDefinition) gets its ground truth in
    the store, read back with boto3 from a live S3 server."""
    flow = audited_flow(name="gt-s3", output_path=s3.uri("a2i/out/"))
    give_labels(post(flow, 3), True)
    result = ground_truth_export(flow=flow)
    assert result["rows"] == 3
    assert result["uri"].startswith(f"s3://{s3.bucket}/a2i/out/gt-s3/ground-truth/")
    key = result["uri"][len(f"s3://{s3.bucket}/") :]
    assert s3.keys("a2i/out/gt-s3/ground-truth/") == [key]
    lines = s3.get(key).decode().splitlines()
    assert len(lines) == 3
    assert {json.loads(line)["eventVersion"] for line in lines} == {"0"}
