"""Human task UIs (custom templates) and RenderUiTemplate, the console's preview."""

import hashlib
from typing import Any

from django.urls import reverse

from control_plane import arns, selectors
from control_plane.operations.common import Call, created_between, invalid, not_found, page
from control_plane.services.human_task_uis import human_task_ui_create, human_task_ui_delete
from labeling.errors import ValidationFailed
from labeling.models import CustomTemplate, CustomTemplateVersion
from labeling.task_ui.services.templates import template_check


def _ui(name: str) -> CustomTemplate:
    template = selectors.human_task_ui_get(name=name)
    if template is None:
        raise not_found(f"Human task UI {name} does not exist")
    return template


def _source(template: CustomTemplate) -> str:
    return (
        CustomTemplateVersion.objects.filter(template=template, number=template.latest_version)
        .values_list("source", flat=True)
        .first()
        or ""
    )


def create_human_task_ui(call: Call) -> dict[str, Any]:
    name = call.get("HumanTaskUiName")
    try:
        template = human_task_ui_create(
            created_by=call.user, name=name, source=call.get("UiTemplate")["Content"]
        )
    except ValidationFailed as exc:
        if exc.code != "template_error":
            raise
        raise invalid(f"UiTemplate.Content: {exc.message}") from None
    return {"HumanTaskUiArn": arns.quorum_arn("human-task-ui", template.name)}


def describe_human_task_ui(call: Call) -> dict[str, Any]:
    template = _ui(call.get("HumanTaskUiName"))
    source = _source(template)
    return {
        "HumanTaskUiArn": arns.quorum_arn("human-task-ui", template.name),
        "HumanTaskUiName": template.name,
        "HumanTaskUiStatus": "Active",
        "CreationTime": template.created_at,
        "UiTemplate": {
            "Url": call.request.build_absolute_uri(reverse("console-template", args=[template.pk])),
            "ContentSha256": hashlib.sha256(source.encode()).hexdigest(),
        },
    }


def list_human_task_uis(call: Call) -> dict[str, Any]:
    rows, token = page(
        created_between(selectors.human_task_uis(), call),
        call,
        field="created_at",
        listing="human-task-uis",
    )
    summaries = [
        {
            "HumanTaskUiName": template.name,
            "HumanTaskUiArn": arns.quorum_arn("human-task-ui", template.name),
            "CreationTime": template.created_at,
        }
        for template in rows
    ]
    return {"HumanTaskUiSummaries": summaries, **token}


def delete_human_task_ui(call: Call) -> dict[str, Any]:
    human_task_ui_delete(template=_ui(call.get("HumanTaskUiName")))
    return {}


def render_ui_template(call: Call) -> dict[str, Any]:
    """The template (given, or the UI named by HumanTaskUiArn) rendered on the task input;
    a template that fails answers with Errors, as the service does, not with an error."""
    if call.get("UiTemplate"):
        source = call.get("UiTemplate")["Content"]
    elif call.get("HumanTaskUiArn"):
        try:
            name = arns.resource_name(
                call.get("HumanTaskUiArn"), field="HumanTaskUiArn", kind="human-task-ui"
            )
        except arns.ArnRefused as exc:
            raise invalid(str(exc)) from None
        source = _source(_ui(name))
    else:
        raise invalid("UiTemplate or HumanTaskUiArn is required")
    try:
        html = template_check(source=source, sample=call.get("Task")["Input"])
    except ValidationFailed as exc:
        code = "TemplateError" if exc.code == "template_error" else "InputError"
        return {"RenderedContent": "", "Errors": [{"Code": code, "Message": exc.message}]}
    return {"RenderedContent": html, "Errors": []}


OPERATIONS = {
    "CreateHumanTaskUi": create_human_task_ui,
    "DescribeHumanTaskUi": describe_human_task_ui,
    "ListHumanTaskUis": list_human_task_uis,
    "DeleteHumanTaskUi": delete_human_task_ui,
    "RenderUiTemplate": render_ui_template,
}
