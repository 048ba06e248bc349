"""Human task UIs, RenderUiTemplate and flow definitions through the real boto3 clients, up to
a review loop started with ``sagemaker-a2i-runtime`` on a flow made by CreateFlowDefinition."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from control_plane.models import FlowDefinitionSpec
from control_plane.services.flow_definitions import flow_definition_activate
from labeling.data.services import outputs
from labeling.data.storage import StorageError
from labeling.models import CustomTemplate, Job
from labeling.task_ui.services.templates import job_template_set
from tests.conftest import client_for
from tests.control_plane.conftest import REGION, error_of
from workflows.models import Flow

boto3 = pytest.importorskip("boto3")
ClientError = pytest.importorskip("botocore.exceptions").ClientError
pytestmark = pytest.mark.django_db(transaction=True)

UI = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<crowd-form>
  <crowd-classifier name="moderation" categories="['safe', 'unsafe']" header="Is it safe?">
    <classification-target><p class="review">{{ task.input.text }}</p></classification-target>
  </crowd-classifier>
</crowd-form>"""
CONDITIONS = {
    "Conditions": [
        {
            "Or": [
                {
                    "ConditionType": "ModerationLabelConfidenceCheck",
                    "ConditionParameters": {
                        "ModerationLabelName": "Suggestive",
                        "ConfidenceLessThan": 98,
                    },
                },
                {
                    "And": [
                        {
                            "ConditionType": "ModerationLabelConfidenceCheck",
                            "ConditionParameters": {
                                "ModerationLabelName": "*",
                                "ConfidenceLessThan": 60,
                            },
                        },
                        {
                            "ConditionType": "ImportantFormKeyConfidenceCheck",
                            "ConditionParameters": {
                                "ImportantFormKey": "Total",
                                "ImportantFormKeyAliases": ["Amount"],
                                "KeyValueBlockConfidenceLessThan": 90,
                                "WordBlockConfidenceLessThan": 80,
                            },
                        },
                    ]
                },
            ]
        },
        {"ConditionType": "Sampling", "ConditionParameters": {"RandomSamplingPercentage": 5}},
    ]
}


def ui_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:123456789012:human-task-ui/{name}"


def flow_request(name: str, team, **changes) -> dict:
    request = {
        "FlowDefinitionName": name,
        "HumanLoopActivationConfig": {
            "HumanLoopActivationConditionsConfig": {
                "HumanLoopActivationConditions": json.dumps(CONDITIONS)
            }
        },
        "HumanLoopConfig": {
            "WorkteamArn": f"arn:aws:sagemaker:{REGION}:123456789012:workteam/private-crowd/"
            + team.name,
            "HumanTaskUiArn": ui_arn("moderation-ui"),
            "TaskTitle": "Moderate",
            "TaskDescription": "Is the text safe?",
            "TaskCount": 1,
        },
        "OutputConfig": {"S3OutputPath": "s3://out/loops"},
        "RoleArn": "arn:aws:iam::123456789012:role/A2I",
    }
    request.update(changes)
    return request


def test_human_task_uis_and_their_preview(sagemaker, manager, make_job):
    created = sagemaker.create_human_task_ui(
        HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI}
    )
    assert created["HumanTaskUiArn"].endswith(":human-task-ui/moderation-ui")
    described = sagemaker.describe_human_task_ui(HumanTaskUiName="moderation-ui")
    assert described["HumanTaskUiStatus"] == "Active"
    assert described["UiTemplate"]["Url"].endswith(
        f"/console/templates/{CustomTemplate.objects.get(name='moderation-ui').pk}/"
    )
    assert len(described["UiTemplate"]["ContentSha256"]) == 64
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_human_task_ui(HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI})
    assert error_of(excinfo)[0] == "ResourceInUse"
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_human_task_ui(
            HumanTaskUiName="broken-ui", UiTemplate={"Content": "<p>{% if %}</p>"}
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException" and message.startswith("UiTemplate.Content: line 1")

    rendered = sagemaker.render_ui_template(
        HumanTaskUiArn=ui_arn("moderation-ui"),
        Task={"Input": json.dumps({"text": "<b>hello</b>"})},
        RoleArn="arn:aws:iam::123456789012:role/A2I",
    )
    assert rendered["Errors"] == []
    assert "&lt;b&gt;hello&lt;/b&gt;" in rendered["RenderedContent"]
    given = sagemaker.render_ui_template(
        UiTemplate={"Content": "<p>{{ task.input.text | upcase }}</p>"},
        Task={"Input": '{"text": "quiet"}'},
        RoleArn="arn:aws:iam::123456789012:role/A2I",
    )
    assert given["RenderedContent"].strip() == "<p>QUIET</p>"
    failed = sagemaker.render_ui_template(
        UiTemplate={"Content": "<p>{{ task.input.text </p>"},
        Task={"Input": "{}"},
        RoleArn="arn:aws:iam::123456789012:role/A2I",
    )
    assert (
        failed["Errors"][0]["Code"] == "TemplateError"
        and "line 1" in failed["Errors"][0]["Message"]
    )
    with pytest.raises(ClientError) as excinfo:
        sagemaker.render_ui_template(
            HumanTaskUiArn=ui_arn("nothing"),
            Task={"Input": "{}"},
            RoleArn="arn:aws:iam::123456789012:role/x",
        )
    assert error_of(excinfo)[0] == "ResourceNotFound"

    sagemaker.create_human_task_ui(HumanTaskUiName="second-ui", UiTemplate={"Content": UI})
    pages = sagemaker.get_paginator("list_human_task_uis").paginate(
        SortOrder="Ascending", PaginationConfig={"PageSize": 1}
    )
    assert [s["HumanTaskUiName"] for p in pages for s in p["HumanTaskUiSummaries"]] == [
        "moderation-ui",
        "second-ui",
    ]
    # A UI a job renders is in use; another one goes.
    job = make_job(items=1, start=False)
    template = CustomTemplate.objects.get(name="second-ui")
    job_template_set(job=job, version=template.versions.get(), by=manager)
    with pytest.raises(ClientError) as excinfo:
        sagemaker.delete_human_task_ui(HumanTaskUiName="second-ui")
    assert error_of(excinfo)[0] == "ResourceInUse"
    sagemaker.delete_human_task_ui(HumanTaskUiName="moderation-ui")
    for call in (sagemaker.describe_human_task_ui, sagemaker.delete_human_task_ui):
        with pytest.raises(ClientError) as excinfo:
            call(HumanTaskUiName="moderation-ui")
        assert error_of(excinfo)[0] == "ResourceNotFound"


def test_a_flow_definition_to_a_reviewed_loop(sagemaker, live_server, key, team, labeler):
    sagemaker.create_human_task_ui(HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI})
    created = sagemaker.create_flow_definition(**flow_request("moderation", team))
    arn = created["FlowDefinitionArn"]
    assert arn.endswith(":flow-definition/moderation")
    flow = Flow.objects.get(name="moderation")
    assert flow.sample_percent == 5
    assert flow.conditions == {
        "any": [
            {"label_confidence_below": {"Suggestive": 0.98}},
            {
                "all": [
                    {"confidence_below": 0.6},
                    {"label_confidence_below": {"Total": 0.8, "Amount": 0.8}},
                ]
            },
        ]
    }
    assert flow.job.task_type == "custom" and flow.job.custom_template.version.source == UI
    described = sagemaker.describe_flow_definition(FlowDefinitionName="moderation")
    assert described["FlowDefinitionStatus"] == "Active"  # its task ran at the commit
    assert described["HumanLoopConfig"]["TaskTitle"] == "Moderate"
    assert (
        json.loads(
            described["HumanLoopActivationConfig"]["HumanLoopActivationConditionsConfig"][
                "HumanLoopActivationConditions"
            ]
        )
        == CONDITIONS
    )

    a2i = boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=f"{live_server.url}/a2i",
        region_name=REGION,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )
    a2i.start_human_loop(
        HumanLoopName="loop-1",
        FlowDefinitionArn=arn,
        HumanLoopInput={"InputContent": json.dumps({"text": "a picture"})},
    )
    reviewer = client_for(labeler)
    lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answered = reviewer.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"moderation": {"label": "safe"}}},
        format="json",
    )
    assert answered.status_code == 201, answered.content
    loop = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert loop["HumanLoopStatus"] == "Completed" and loop["FlowDefinitionArn"] == arn

    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_flow_definition(**flow_request("moderation", team))
    assert error_of(excinfo)[0] == "ResourceInUse"
    listed = sagemaker.list_flow_definitions()["FlowDefinitionSummaries"]
    assert [(s["FlowDefinitionName"], s["FlowDefinitionStatus"]) for s in listed] == [
        ("moderation", "Active")
    ]
    sagemaker.delete_flow_definition(FlowDefinitionName="moderation")
    for call in (sagemaker.describe_flow_definition, sagemaker.delete_flow_definition):
        with pytest.raises(ClientError) as excinfo:
            call(FlowDefinitionName="moderation")
        assert error_of(excinfo)[0] == "ResourceNotFound"
    # The name can be used again; the old backing job stays, stopped.
    sagemaker.create_flow_definition(**flow_request("moderation", team))
    assert Job.objects.filter(name__startswith="review-loops/moderation").count() == 2


def test_initializing_until_its_task_ran_and_in_use_while_loops_run(
    sagemaker, live_server, key, team, settings
):
    sagemaker.create_human_task_ui(HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI})
    sagemaker.create_flow_definition(**flow_request("first", team))
    FlowDefinitionSpec.objects.filter(flow__name="first").update(activated_at=None)
    described = sagemaker.describe_flow_definition(FlowDefinitionName="first")
    assert described["FlowDefinitionStatus"] == "Initializing"
    assert flow_definition_activate(flow_id=Flow.objects.get(name="first").pk) is True
    assert flow_definition_activate(flow_id=Flow.objects.get(name="first").pk) is False
    assert (
        sagemaker.describe_flow_definition(FlowDefinitionName="first")["FlowDefinitionStatus"]
        == "Active"
    )

    a2i = boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=f"{live_server.url}/a2i",
        region_name=REGION,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )
    a2i.start_human_loop(
        HumanLoopName="open-loop",
        FlowDefinitionArn=f"arn:aws:sagemaker:{REGION}:123456789012:flow-definition/first",
        HumanLoopInput={"InputContent": json.dumps({"text": "x"})},
    )
    with pytest.raises(ClientError) as excinfo:
        sagemaker.delete_flow_definition(FlowDefinitionName="first")
    assert error_of(excinfo)[0] == "ResourceInUse"

    sagemaker.create_flow_definition(**flow_request("second", team))
    pages = sagemaker.get_paginator("list_flow_definitions").paginate(
        SortOrder="Ascending", PaginationConfig={"PageSize": 1}
    )
    assert [s["FlowDefinitionName"] for p in pages for s in p["FlowDefinitionSummaries"]] == [
        "first",
        "second",
    ]


REFUSED_CONDITIONS = [
    ("not json", "is not JSON"),
    ({"Conditions": []}, 'non-empty "Conditions"'),
    (
        {
            "Conditions": [
                {
                    "ConditionType": "ModerationLabelConfidenceCheck",
                    "ConditionParameters": {
                        "ModerationLabelName": "Violence",
                        "ConfidenceGreaterThan": 50,
                    },
                }
            ]
        },
        "Conditions[0]: ConfidenceGreaterThan is not supported",
    ),
    (
        {"Conditions": [{"ConditionType": "MissingImportantFormKey", "ConditionParameters": {}}]},
        "MissingImportantFormKey is not supported",
    ),
    ({"Conditions": [{"ConditionType": "Guess"}]}, "unknown ConditionType 'Guess'"),
    (
        {
            "Conditions": [
                {
                    "And": [
                        {
                            "Or": [
                                {
                                    "And": [
                                        {
                                            "ConditionType": "Sampling",
                                            "ConditionParameters": {},
                                        }
                                    ]
                                }
                            ]
                        }
                    ]
                }
            ]
        },
        "nest at most two levels",
    ),
]


def test_conditions_quorum_cannot_hold_are_refused_by_place(sagemaker, team):
    # A flow needs a known UI and team.
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_flow_definition(**flow_request("no-ui", team))
    code, message = error_of(excinfo)
    assert code == "ResourceNotFound" and "human task UI" in message
    sagemaker.create_human_task_ui(HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI})
    request = flow_request("no-team", team)
    request["HumanLoopConfig"]["WorkteamArn"] = (
        "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/nobody"
    )
    with pytest.raises(ClientError) as excinfo:
        sagemaker.create_flow_definition(**request)
    code, message = error_of(excinfo)
    assert code == "ResourceNotFound" and "no work team" in message
    assert not Flow.objects.exists()
    for name, value in (
        ("TaskAvailabilityLifetimeInSeconds", 30),
        ("TaskTimeLimitInSeconds", 9**6),
    ):
        request = flow_request("refused", team)
        request["HumanLoopConfig"][name] = value
        with pytest.raises(ClientError) as excinfo:
            sagemaker.create_flow_definition(**request)
        assert error_of(excinfo)[1].startswith(f"HumanLoopConfig.{name} must be from ")
    for conditions, words in REFUSED_CONDITIONS:
        document = conditions if isinstance(conditions, str) else json.dumps(conditions)
        request = flow_request(
            "refused",
            team,
            HumanLoopActivationConfig={
                "HumanLoopActivationConditionsConfig": {"HumanLoopActivationConditions": document}
            },
        )
        with pytest.raises(ClientError) as excinfo:
            sagemaker.create_flow_definition(**request)
        code, message = error_of(excinfo)
        assert code == "ValidationException" and words in message
    assert not Flow.objects.filter(name="refused").exists()


def test_a_loop_is_completed_for_scripts_once_its_output_is_in_the_store(
    sagemaker, live_server, key, team, labeler, monkeypatch, settings
):
    # A script reads OutputS3Uri as soon as it sees Completed: while the output.json is still
    # in the outbox (the store down, or Celery not there yet) the loop is shown InProgress.
    sagemaker.create_human_task_ui(HumanTaskUiName="moderation-ui", UiTemplate={"Content": UI})
    request = flow_request("moderation", team)
    del request["HumanLoopActivationConfig"]
    arn = sagemaker.create_flow_definition(**request)["FlowDefinitionArn"]
    a2i = boto3.client(
        "sagemaker-a2i-runtime",
        endpoint_url=f"{live_server.url}/a2i",
        region_name=REGION,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )
    a2i.start_human_loop(
        HumanLoopName="loop-1",
        FlowDefinitionArn=arn,
        HumanLoopInput={"InputContent": json.dumps({"text": "a picture"})},
    )

    def store_down(uri, body, content_type):
        raise StorageError(f"{uri}: the store is down")

    monkeypatch.setattr(outputs, "storage_write", store_down)
    reviewer = client_for(labeler)
    flow = Flow.objects.get(name="moderation")
    lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    answered = reviewer.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"moderation": {"label": "safe"}}},
        format="json",
    )
    assert answered.status_code == 201, answered.content
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert described["HumanLoopStatus"] == "InProgress"
    assert "HumanLoopOutput" not in described
    [summary] = a2i.list_human_loops(FlowDefinitionArn=arn)["HumanLoopSummaries"]
    assert summary["HumanLoopStatus"] == "InProgress"

    monkeypatch.undo()
    assert outputs.storage_writes_flush(now=timezone.now() + timedelta(hours=1))["written"] == 1
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert described["HumanLoopStatus"] == "Completed"
    uri = described["HumanLoopOutput"]["OutputS3Uri"]
    output = json.loads(Path(settings.MEDIA_ROOT, uri.removeprefix("s3://")).read_text())
    assert output["humanAnswers"][0]["answerContent"] == {"moderation": {"label": "safe"}}
    [summary] = a2i.list_human_loops(FlowDefinitionArn=arn)["HumanLoopSummaries"]
    assert summary["HumanLoopStatus"] == "Completed"
