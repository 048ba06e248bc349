"""End to end with the real boto3 client: StartHumanLoop names the model and its version in
the input content's prediction, a reviewer answers, and the monitoring API shows the version
(its record, the direct loop kept out of the random-audit estimates) and the ground truth."""

import csv
import io
import json

import pytest

from tests.conftest import client_for
from workflows.models import HumanLoop
from workflows.services.access_keys import access_key_create

boto3 = pytest.importorskip("boto3", reason="the runtime API tests need boto3 (pip install boto3)")
botocore_config = pytest.importorskip("botocore.config")

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_human_loop_names_the_model_version_and_monitoring_shows_it(
    live_server, make_flow, manager, labeler, manager_client
):
    key = access_key_create(user=manager)
    a2i = boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=f"{live_server.url}/a2i",
        region_name="eu-west-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=botocore_config.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    flow = make_flow(name="versions")
    content = {
        "source": "Is this a cat?",
        "prediction": {
            "label": "cat",
            "confidence": 0.8,
            "modelName": "catnet",
            "modelVersion": "v9",
        },
    }
    started = a2i.start_human_loop(
        HumanLoopName="versioned-1",
        FlowDefinitionArn=f"arn:aws:sagemaker:us-east-1:000000000000:flow-definition/{flow.name}",
        HumanLoopInput={"InputContent": json.dumps(content)},
    )
    assert started["HumanLoopArn"].endswith(":human-loop/versioned-1")
    loop = HumanLoop.objects.get(name="versioned-1")
    assert (loop.model_name, loop.model_version, loop.model_label) == ("catnet", "v9", "cat")
    assert loop.route_reason == ""  # started directly: neither sample nor rule

    reviewer = client_for(labeler)
    lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answered = reviewer.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": "dog"}}},
        format="json",
    )
    assert answered.status_code == 201
    assert a2i.describe_human_loop(HumanLoopName="versioned-1")["HumanLoopStatus"] == "Completed"

    figures = manager_client.get(f"/api/v1/flows/{flow.pk}/monitoring").json()
    assert figures["model_versions"] == ["v9"]
    assert [row["model_version"] for row in figures["versions"]] == ["v9"]
    one = manager_client.get(f"/api/v1/flows/{flow.pk}/monitoring", {"model_version": "v9"})
    assert one.status_code == 200
    # Not a random-audit label: no audited window counts it.
    assert sum(window["labels"] for window in one.json()["windows"]) == 0

    exported = manager_client.get(
        f"/api/v1/flows/{flow.pk}/monitoring/ground-truth", {"format": "csv"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[1][:4] == ["versioned-1", "v9", "cat", "dog"]
