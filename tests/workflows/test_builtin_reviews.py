"""The built-in document key-value and image moderation reviews through flows: created by the
REST API and by CreateFlowDefinition with the AWS-managed request source, loops started by the
real boto3 ``sagemaker-a2i-runtime`` client (only when a condition activates them), three
reviewers consolidated, outputs in the documented shape, and the exports."""

import csv
import io
import json
import urllib.request

import pytest
from django.test import Client

from labeling.task_ui.selectors import job_custom_source
from tests.conftest import client_for
from tests.control_plane.conftest import REGION
from tests.workflows.builtin_inputs import answer_blocks, moderation_input, pair, textract_input
from tests.workflows.test_a2i_boto3 import a2i_client
from workflows.models import Flow, HumanLoop
from workflows.services.access_keys import access_key_create

boto3 = pytest.importorskip("boto3", reason="the runtime API tests need boto3")
pytestmark = pytest.mark.django_db(transaction=True)
FORMS = "AWS/Textract/AnalyzeDocument/Forms/V1"
MODERATION = "AWS/Rekognition/DetectModerationLabels/Image/V3"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012"
UI = (
    "<crowd-form><crowd-rekognition-detect-moderation-labels categories='[]' src='x'>"
    "</crowd-rekognition-detect-moderation-labels></crowd-form>"
)


@pytest.fixture
def key(manager):
    return access_key_create(user=manager)


@pytest.fixture
def a2i(live_server, key):
    return a2i_client(live_server, key.access_key_id, key.secret_access_key)


@pytest.fixture
def reviewers(make_labeler):
    return [make_labeler(f"rev{i}") for i in range(1, 4)]


def start(a2i, flow_name: str, loop: str, content: dict) -> dict:
    return a2i.start_human_loop(
        HumanLoopName=loop,
        FlowDefinitionArn=f"{ARN}:flow-definition/{flow_name}",
        HumanLoopInput={"InputContent": json.dumps(content)},
    )


def lease(flow: Flow, reviewer):
    client = client_for(reviewer)
    leased = client.post(f"/api/v1/flows/{flow.pk}/tasks/next")
    assert leased.status_code == 200, leased.content
    return client, leased.json()["assignment_id"]


def submit(leased, body: dict):
    client, assignment_id = leased
    return client.post(
        f"/api/v1/assignments/{assignment_id}/submit", {"answer": body}, format="json"
    )


def answer(flow: Flow, reviewer, body: dict):
    return submit(lease(flow, reviewer), body)


def output_of(a2i, loop: str) -> dict:
    described = a2i.describe_human_loop(HumanLoopName=loop)
    assert described["HumanLoopStatus"] == "Completed"
    with urllib.request.urlopen(described["HumanLoopOutput"]["OutputS3Uri"]) as response:
        return json.loads(response.read())


CONFIDENT = textract_input(
    pair(1, "Total:", "12.00", 99.0, 99.0), pair(2, "Invoice number", "A-7", 99.0, 98.0)
)
DOUBTFUL = textract_input(
    pair(1, "Total:", "12.00", 95.0, 61.0), pair(2, "Date", "2024-01-02", 99.0, 99.0)
)


def test_document_review_from_the_api_to_the_exports(a2i, manager, team, reviewers):
    created = client_for(manager).post(
        "/api/v1/flows",
        {
            "name": "invoices",
            "team": team.pk,
            "task_type": "document-key-value-review",
            "workers_per_loop": 3,
            "conditions": {
                "any": [
                    {"form_key_confidence": {"key": "Total", "key_value": {"below": 0.9}}},
                    {"form_key_missing": {"key": "Invoice number", "aliases": ["Invoice no."]}},
                ]
            },
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    flow = Flow.objects.get(name="invoices")
    assert flow.job.task_type == "document-key-value-review"
    assert flow.job.labels == ["Total", "Invoice number"]

    # Nothing activates: no loop, and the response carries no HumanLoopArn.
    quiet = start(a2i, "invoices", "confident", CONFIDENT)
    assert "HumanLoopArn" not in quiet
    assert not HumanLoop.objects.exists()
    started = start(a2i, "invoices", "doubtful", DOUBTFUL)
    assert started["HumanLoopArn"].endswith(":human-loop/doubtful")
    loop = HumanLoop.objects.get(name="doubtful")
    assert loop.route_reason == "ConditionsEvaluation"
    line = json.loads(loop.item.data)
    assert line["source-ref"] == "s3://docs/invoice.png"
    assert line["flaggedBlockIds"] == ["k1", "v1"] and line["reviewThreshold"] == pytest.approx(90)

    # A bad answer is refused with what is wrong; the lease stays open.
    first = lease(flow, reviewers[0])
    refused = submit(first, {FORMS: {"blocks": [{"blockType": "TABLE"}]}})
    assert refused.status_code == 400 and "blockType" in refused.json()["error"]["message"]

    total_box = (0.40, 0.10, 0.20, 0.04)
    shifted = (0.41, 0.10, 0.20, 0.04)
    number_box = (0.40, 0.30, 0.15, 0.04)
    bodies = [
        answer_blocks(
            ("Total:", "12.50", total_box),
            ("Date", "2024-01-02", None),
            ("Invoice number", "A-7", number_box),
        ),
        answer_blocks(("total", "12.50", shifted)),  # deletes Date
        answer_blocks(
            ("Total:", "12.00", total_box),
            ("Date", "2024-01-02", None),
            ("Invoice number", "A-7", number_box),
        ),
    ]
    assert submit(first, bodies[0]).status_code == 201
    for reviewer, body in zip(reviewers[1:], bodies[1:], strict=True):
        submitted = answer(flow, reviewer, body)
        assert submitted.status_code == 201, submitted.content

    output = output_of(a2i, "doubtful")
    assert output["awsManagedHumanLoopRequestSource"] == FORMS
    assert output["flowDefinitionArn"].endswith(":flow-definition/invoices")
    assert output["humanLoopName"] == "doubtful"
    assert output["inputContent"] == DOUBTFUL
    assert len(output["humanAnswers"]) == 3
    for human in output["humanAnswers"]:
        assert set(human) >= {"answerContent", "workerId", "submissionTime", "acceptanceTime"}
        assert all(
            b["blockType"] == "KEY_VALUE_SET" for b in human["answerContent"][FORMS]["blocks"]
        )
    consolidated = output["consolidatedAnswer"]
    pairs = {p["key"]: p for p in consolidated["pairs"]}
    assert pairs["Total:"]["value"] == "12.50" and pairs["Total:"]["votes"] == 2
    assert pairs["Total:"]["confidence"] == pytest.approx(2 / 3, abs=1e-6)
    assert pairs["Total:"]["valueBox"] == pytest.approx([1.21 / 3, 0.10, 0.20, 0.04], abs=1e-5)
    assert pairs["Invoice number"]["value"] == "A-7"
    assert pairs["Date"]["confidence"] == pytest.approx(2 / 3, abs=1e-6)  # one deleted it
    blocks = consolidated["answerContent"][FORMS]["blocks"]
    assert [b["text"] for b in blocks if b["entityTypes"] == ["KEY"]] == [
        "Total:",
        "Date",
        "Invoice number",
    ]
    assert consolidated["confidence"] == pytest.approx(2 / 3, abs=1e-6)

    manager_client = client_for(manager)
    # The flow's pages and the loop API show it like any flow.
    detail = manager_client.get("/api/v1/loops/doubtful")
    assert detail.status_code == 200 and detail.json()["output"] == output
    assert manager_client.get(f"/api/v1/flows/{flow.pk}").json()["task_type"] == (
        "document-key-value-review"
    )
    manager.refresh_from_db()
    web = Client()
    web.force_login(manager)
    assert web.get(f"/console/flows/{flow.pk}/").status_code == 200
    lines = manager_client.get(f"/api/v1/flows/{flow.pk}/outputs.jsonl")
    assert lines.status_code == 200
    exported = [json.loads(x) for x in b"".join(lines.streaming_content).decode().splitlines()]
    assert exported == [output]
    corrections = manager_client.get(f"/api/v1/flows/{flow.pk}/key-value-corrections.csv")
    assert corrections.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(corrections.streaming_content).decode())))
    assert len(rows) == 8  # 3 + 2 (one deleted) + 3 pairs
    second = [r for r in rows if r["worker"] == output["humanAnswers"][1]["workerId"]]
    assert {r["detected_key"]: r["change"] for r in second} == {
        "Total:": "value+box",
        "Date": "deleted",
    }
    first = [r for r in rows if r["worker"] == output["humanAnswers"][0]["workerId"]]
    changes = {r["key"]: r["change"] for r in first}
    assert changes == {"Total:": "value+box", "Date": "box", "Invoice number": "added"}
    total = next(r for r in first if r["key"] == "Total:")
    assert (total["detected_value"], total["reviewed_value"], total["detected_confidence"]) == (
        "12.00",
        "12.50",
        "61.0",
    )


def test_moderation_review_from_create_flow_definition(live_server, key, a2i, team, reviewers):
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=f"{live_server.url}/sagemaker",
        region_name=REGION,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )
    sagemaker.create_human_task_ui(HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI})
    conditions = {
        "Conditions": [
            {
                "Or": [
                    {
                        "ConditionType": "ModerationLabelConfidenceCheck",
                        "ConditionParameters": {
                            "ModerationLabelName": "*",
                            "ConfidenceGreaterThanEquals": 50,
                            "ConfidenceLessThan": 90,
                        },
                    },
                    {
                        "ConditionType": "ModerationLabelConfidenceCheck",
                        "ConditionParameters": {
                            "ModerationLabelName": "Hate Symbols",
                            "ConfidenceGreaterThan": 10,
                        },
                    },
                ]
            }
        ]
    }
    sagemaker.create_flow_definition(
        FlowDefinitionName="images",
        HumanLoopRequestSource={"AwsManagedHumanLoopRequestSource": MODERATION},
        HumanLoopActivationConfig={
            "HumanLoopActivationConditionsConfig": {
                "HumanLoopActivationConditions": json.dumps(conditions)
            }
        },
        HumanLoopConfig={
            "WorkteamArn": f"{ARN}:workteam/private-crowd/{team.name}",
            "HumanTaskUiArn": f"{ARN}:human-task-ui/moderation-ui",
            "TaskTitle": "Moderate",
            "TaskDescription": "Check the image's labels",
            "TaskCount": 3,
        },
        OutputConfig={"S3OutputPath": "s3://out/loops"},
        RoleArn="arn:aws:iam::123456789012:role/A2I",
    )
    flow = Flow.objects.get(name="images")
    assert flow.job.task_type == "image-moderation-review"
    assert "Violence" in flow.job.labels and job_custom_source(job_id=flow.job_id) is None
    assert flow.conditions == {
        "any": [
            {"moderation_label_confidence": {"label": "*", "at_least": 0.5, "below": 0.9}},
            {"moderation_label_confidence": {"label": "Hate Symbols", "above": 0.1}},
        ]
    }
    sure = moderation_input(("Violence", "", 97.0))
    assert "HumanLoopArn" not in start(a2i, "images", "sure", sure)
    unsure = moderation_input(("Violence", "", 97.0), ("Weapons", "Violence", 50.0))
    assert "HumanLoopArn" in start(a2i, "images", "unsure", unsure)
    line = json.loads(HumanLoop.objects.get(name="unsure").item.data)
    assert line["flaggedLabels"] == ["Weapons"]

    bodies = [
        {
            MODERATION: {
                "ModerationLabels": [{"name": "Violence", "parentName": ""}, {"name": "Gambling"}]
            }
        },
        {MODERATION: {"moderationLabels": [{"name": "Violence", "parentName": ""}]}},
        {MODERATION: {"moderationLabels": ["Violence", "Gambling", "Weapons"]}},
    ]
    for reviewer, body in zip(reviewers, bodies, strict=True):
        submitted = answer(flow, reviewer, body)
        assert submitted.status_code == 201, submitted.content
    output = HumanLoop.objects.get(name="unsure").output
    assert output["awsManagedHumanLoopRequestSource"] == MODERATION
    first = output["humanAnswers"][0]["answerContent"]
    assert first == {
        MODERATION: {
            "moderationLabels": [
                {"name": "Violence", "parentName": ""},
                {"name": "Gambling", "parentName": ""},
            ]
        }
    }
    consolidated = output["consolidatedAnswer"]
    assert consolidated["answerContent"][MODERATION]["moderationLabels"] == [
        {"name": "Violence", "parentName": ""},
        {"name": "Gambling", "parentName": ""},
    ]
    shares = {x["name"]: (x["chosen"], x["confidence"]) for x in consolidated["labels"]}
    assert shares["Violence"] == (True, 1.0)
    assert shares["Gambling"] == (True, pytest.approx(2 / 3, abs=1e-6))
    assert shares["Weapons"] == (False, pytest.approx(2 / 3, abs=1e-6))
    described = a2i.describe_human_loop(HumanLoopName="unsure")
    assert described["HumanLoopOutput"]["OutputS3Uri"].startswith("s3://out/loops/images/")


def test_conditions_must_read_what_the_flow_carries(manager, team):
    client = client_for(manager)
    base = {"team": team.pk, "labels": ["a", "b"]}
    refused = client.post(
        "/api/v1/flows",
        {
            **base,
            "name": "f1",
            "task_type": "image-moderation-review",
            "conditions": {"confidence_below": 0.5},
        },
        format="json",
    )
    assert (
        refused.status_code == 400
        and "moderation_label_confidence" in refused.json()["error"]["message"]
    )
    refused = client.post(
        "/api/v1/flows",
        {
            **base,
            "name": "f2",
            "task_type": "text-classification",
            "conditions": {"form_key_missing": {"key": "Total"}},
        },
        format="json",
    )
    assert (
        refused.status_code == 400
        and "document-key-value-review" in refused.json()["error"]["message"]
    )
    # The built-in reviews are for flows only: a job can't take them.
    job = client.post(
        "/api/v1/jobs",
        {"name": "j", "task_type": "image-moderation-review", "labels": ["a"], "team": team.pk},
        format="json",
    )
    assert job.status_code == 400 and "reserved" in json.dumps(job.json())
