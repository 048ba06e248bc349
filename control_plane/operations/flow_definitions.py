"""Flow definitions: Create, Describe (Initializing → Active), List, Delete."""

from typing import Any

from celery import current_app

from control_plane import arns, selectors
from control_plane.models import FlowDefinitionSpec
from control_plane.operations.common import Call, created_between, not_found, page
from control_plane.services.flow_definitions import (
    FLOW_DEFINITION_ACTIVATE_TASK,
    flow_definition_create,
    flow_definition_delete,
)
from labeling.after_commit import on_commit_safely
from workflows.models import Flow
from workflows.states import FlowStatus

INACTIVE_REASON = "the flow is deactivated in Quorum: it starts no human loops"


def _spec(flow: Flow) -> FlowDefinitionSpec | None:
    try:
        return flow.definition_spec
    except FlowDefinitionSpec.DoesNotExist:
        return None


def _status(flow: Flow) -> tuple[str, str]:
    spec = _spec(flow)
    if spec is not None and spec.failure_reason:
        return "Failed", spec.failure_reason
    if flow.status != FlowStatus.ACTIVE:
        return "Failed", INACTIVE_REASON
    if spec is not None and spec.activated_at is None:
        return "Initializing", ""
    return "Active", ""


def _flow(name: str) -> Flow:
    flow = selectors.flow_get(name=name)
    if flow is None:
        raise not_found(f"Flow definition {name} does not exist")
    return flow


def create_flow_definition(call: Call) -> dict[str, Any]:
    flow = flow_definition_create(created_by=call.user, request=call.body)
    on_commit_safely(
        current_app.signature(FLOW_DEFINITION_ACTIVATE_TASK, args=(flow.pk,)).delay,
        what=f"activating flow definition {flow.name}",
    )
    return {"FlowDefinitionArn": arns.quorum_arn("flow-definition", flow.name)}


def describe_flow_definition(call: Call) -> dict[str, Any]:
    flow = _flow(call.get("FlowDefinitionName"))
    spec = _spec(flow)
    request = spec.request if spec else {}
    status, reason = _status(flow)
    body = {
        "FlowDefinitionArn": arns.quorum_arn("flow-definition", flow.name),
        "FlowDefinitionName": flow.name,
        "FlowDefinitionStatus": status,
        "CreationTime": flow.created_at,
        "HumanLoopConfig": request.get("HumanLoopConfig")
        or {
            "WorkteamArn": arns.workteam_arn(flow.team.kind, flow.team.name),
            "HumanTaskUiArn": "",
            "TaskTitle": flow.name,
            "TaskDescription": flow.job.short_instructions or flow.name,
            "TaskCount": flow.job.workers_per_item,
        },
        "OutputConfig": request.get("OutputConfig", {"S3OutputPath": ""}),
        "RoleArn": request.get("RoleArn", ""),
    }
    for name in ("HumanLoopRequestSource", "HumanLoopActivationConfig"):
        if request.get(name):
            body[name] = request[name]
    if reason:
        body["FailureReason"] = reason
    return body


def list_flow_definitions(call: Call) -> dict[str, Any]:
    rows, token = page(
        created_between(selectors.flows(), call), call, field="created_at", listing="flows"
    )
    summaries = []
    for flow in rows:
        status, reason = _status(flow)
        summary = {
            "FlowDefinitionName": flow.name,
            "FlowDefinitionArn": arns.quorum_arn("flow-definition", flow.name),
            "FlowDefinitionStatus": status,
            "CreationTime": flow.created_at,
        }
        if reason:
            summary["FailureReason"] = reason
        summaries.append(summary)
    return {"FlowDefinitionSummaries": summaries, **token}


def delete_flow_definition(call: Call) -> dict[str, Any]:
    flow_definition_delete(flow=_flow(call.get("FlowDefinitionName")), by=call.user)
    return {}


OPERATIONS = {
    "CreateFlowDefinition": create_flow_definition,
    "DescribeFlowDefinition": describe_flow_definition,
    "ListFlowDefinitions": list_flow_definitions,
    "DeleteFlowDefinition": delete_flow_definition,
}
