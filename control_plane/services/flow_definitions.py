"""CreateFlowDefinition and DeleteFlowDefinition: a flow definition is a Quorum flow.

``HumanLoopActivationConditions`` (the managed service's JSON document) is translated into
Quorum's condition tree (workflows/conditions.py): the top-level ``Conditions`` are any-of,
``And``/``Or`` become ``all``/``any`` (two levels at most, as the service allows), a
``Sampling`` condition at the top becomes the flow's sample percentage, and the built-in
checks on moderation labels and document keys become label thresholds (the service's
confidences are 0–100, Quorum's 0–1).
"""

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from control_plane import arns
from control_plane.models import FlowDefinitionSpec
from control_plane.services.labeling_jobs import workteam_for_arn
from labeling.errors import Conflict, NotFound, ValidationFailed
from labeling.models import CustomTemplate, CustomTemplateVersion, Job, TeamKind, User
from labeling.services.jobs import job_stop
from labeling.states import JobStatus
from workflows.inference import SOURCE_TASK_TYPES
from workflows.models import Flow, HumanLoop
from workflows.services.flows import flow_create
from workflows.states import HumanLoopStatus

CONDITIONS_FIELD = (
    "HumanLoopActivationConfig.HumanLoopActivationConditionsConfig.HumanLoopActivationConditions"
)
FLOW_DEFINITION_ACTIVATE_TASK = "control_plane.flow_definition_activate"
FLOW_LABEL = "answer"  # a flow with a custom task UI has no labels of its own
_LESS_THAN = ("ConfidenceLessThan", "ConfidenceLessThanEquals")
_FORM_LESS_THAN = (
    "KeyValueBlockConfidenceLessThan",
    "KeyValueBlockConfidenceLessThanEquals",
    "WordBlockConfidenceLessThan",
    "WordBlockConfidenceLessThanEquals",
)


class ConditionsRefused(ValueError):
    """A conditions document Quorum cannot hold; the message says where and why."""


def _threshold(parameters: dict[str, Any], names: tuple[str, ...], where: str) -> float:
    found = [parameters[name] for name in names if name in parameters]
    greater = sorted(name for name in parameters if "GreaterThan" in name)
    if greater:
        raise ConditionsRefused(
            f"{where}: {', '.join(greater)} is not supported; Quorum sends to review what is "
            "below a confidence (use ConfidenceLessThan)"
        )
    if not found:
        raise ConditionsRefused(f"{where}: a {' or '.join(names)} threshold is required")
    value = min(found)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConditionsRefused(f"{where}: a confidence from 0 to 100, not {value!r}")
    return round(value / 100, 6)


def _leaf(condition: dict[str, Any], where: str) -> dict[str, Any]:
    kind = condition.get("ConditionType")
    parameters = condition.get("ConditionParameters") or {}
    if not isinstance(parameters, dict):
        raise ConditionsRefused(f"{where}.ConditionParameters must be an object")
    if kind == "ModerationLabelConfidenceCheck":
        name = parameters.get("ModerationLabelName")
        if not isinstance(name, str) or not name:
            raise ConditionsRefused(f"{where}: ModerationLabelName is required")
        threshold = _threshold(parameters, _LESS_THAN, where)
        if name == "*":
            return {"confidence_below": threshold}
        return {"label_confidence_below": {name: threshold}}
    if kind == "ImportantFormKeyConfidenceCheck":
        key = parameters.get("ImportantFormKey")
        if not isinstance(key, str) or not key:
            raise ConditionsRefused(f"{where}: ImportantFormKey is required")
        threshold = _threshold(parameters, _FORM_LESS_THAN, where)
        aliases = parameters.get("ImportantFormKeyAliases") or []
        return {"label_confidence_below": {name: threshold for name in [key, *aliases]}}
    if kind == "MissingImportantFormKey":
        raise ConditionsRefused(
            f"{where}: MissingImportantFormKey is not supported: a Quorum prediction carries "
            "one label and its confidence, not a document's keys"
        )
    if kind == "Sampling":
        raise ConditionsRefused(
            f"{where}: Sampling is supported only as a member of the top-level Conditions"
        )
    raise ConditionsRefused(
        f"{where}: unknown ConditionType {kind!r}; known: ModerationLabelConfidenceCheck, "
        "ImportantFormKeyConfidenceCheck, Sampling"
    )


_BOUNDS = (  # the service's suffixes, longest first, and Quorum's range bounds
    ("LessThanEquals", "at_most"),
    ("GreaterThanEquals", "at_least"),
    ("LessThan", "below"),
    ("GreaterThan", "above"),
    ("Equals", "equals"),
)


def _range(parameters: dict[str, Any], prefix: str, where: str) -> dict[str, float]:
    """``<prefix>LessThan`` … ``<prefix>Equals`` as a Quorum range (0–100 → 0–1)."""
    found = {}
    for name, value in parameters.items():
        if not name.startswith(prefix):
            continue
        bound = next((b for suffix, b in _BOUNDS if name == prefix + suffix), None)
        if bound is None:
            raise ConditionsRefused(f"{where}: unknown parameter {name}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ConditionsRefused(f"{where}.{name}: a confidence from 0 to 100, not {value!r}")
        found[bound] = round(value / 100, 6)
    return found


def _key(parameters: dict[str, Any], where: str) -> dict[str, Any]:
    key = parameters.get("ImportantFormKey")
    if not isinstance(key, str) or not key:
        raise ConditionsRefused(f"{where}: ImportantFormKey is required")
    aliases = parameters.get("ImportantFormKeyAliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise ConditionsRefused(f"{where}: ImportantFormKeyAliases must be a list of texts")
    return {"key": key, "aliases": aliases}


def _builtin_leaf(condition: dict[str, Any], where: str) -> dict[str, Any]:
    """A leaf of a built-in review flow (HumanLoopRequestSource): it reads the AI service's
    answer that each StartHumanLoop carries (workflows/inference.py)."""
    kind = condition.get("ConditionType")
    parameters = condition.get("ConditionParameters") or {}
    if not isinstance(parameters, dict):
        raise ConditionsRefused(f"{where}.ConditionParameters must be an object")
    if kind == "ImportantFormKeyConfidenceCheck":
        leaf = _key(parameters, where)
        for prefix, name in (
            ("KeyValueBlockConfidence", "key_value"),
            ("WordBlockConfidence", "word"),
        ):
            bounds = _range(parameters, prefix, where)
            if bounds:
                leaf[name] = bounds
        if "key_value" not in leaf and "word" not in leaf:
            raise ConditionsRefused(
                f"{where}: a KeyValueBlockConfidence… or WordBlockConfidence… bound is required"
            )
        return {"form_key_confidence": leaf}
    if kind == "MissingImportantFormKey":
        return {"form_key_missing": _key(parameters, where)}
    if kind == "ModerationLabelConfidenceCheck":
        name = parameters.get("ModerationLabelName")
        if not isinstance(name, str) or not name:
            raise ConditionsRefused(f"{where}: ModerationLabelName is required")
        bounds = _range(parameters, "Confidence", where)
        if not bounds:
            raise ConditionsRefused(f"{where}: a Confidence… bound is required")
        return {"moderation_label_confidence": {"label": name, **bounds}}
    if kind == "Sampling":
        raise ConditionsRefused(
            f"{where}: Sampling is supported only as a member of the top-level Conditions"
        )
    raise ConditionsRefused(
        f"{where}: unknown ConditionType {kind!r}; known: ImportantFormKeyConfidenceCheck, "
        "MissingImportantFormKey, ModerationLabelConfidenceCheck, Sampling"
    )


def _node(condition: Any, where: str, depth: int, leaf=None) -> dict[str, Any]:
    leaf = leaf or _leaf
    if not isinstance(condition, dict):
        raise ConditionsRefused(f"{where} must be an object")
    for operator, combinator in (("And", "all"), ("Or", "any")):
        if operator in condition:
            if depth >= 2:
                raise ConditionsRefused(f"{where}: And/Or nest at most two levels")
            children = condition[operator]
            if not isinstance(children, list) or not children:
                raise ConditionsRefused(f"{where}.{operator} must be a non-empty list")
            return {
                combinator: [
                    _node(child, f"{where}.{operator}[{index}]", depth + 1, leaf)
                    for index, child in enumerate(children)
                ]
            }
    return leaf(condition, where)


def activation_conditions(
    document: str | dict[str, Any], *, builtin: bool = False
) -> tuple[dict[str, Any], float | None]:
    """Quorum's condition tree and sample percentage for the service's conditions document
    (``builtin``: of a flow with a HumanLoopRequestSource, whose leaves read the AI
    service's answer)."""
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        raise ConditionsRefused(f"{CONDITIONS_FIELD} is not JSON") from None
    conditions = parsed.get("Conditions") if isinstance(parsed, dict) else None
    if not isinstance(conditions, list) or not conditions:
        raise ConditionsRefused(f'{CONDITIONS_FIELD} needs a non-empty "Conditions" list')
    sample = None
    tree = []
    for index, condition in enumerate(conditions):
        where = f"Conditions[{index}]"
        if isinstance(condition, dict) and condition.get("ConditionType") == "Sampling":
            percent = (condition.get("ConditionParameters") or {}).get("RandomSamplingPercentage")
            if isinstance(percent, bool) or not isinstance(percent, int | float):
                raise ConditionsRefused(f"{where}: RandomSamplingPercentage is required")
            if not 0.01 <= percent <= 100:
                raise ConditionsRefused(f"{where}: RandomSamplingPercentage from 0.01 to 100")
            sample = max(sample or 0, float(percent))
            continue
        node = _node(condition, where, 0, _builtin_leaf if builtin else _leaf)
        # The top-level list is any-of already: an Or there adds no level.
        tree.extend(node.get("any", [node]))
    if not tree:
        return {}, sample
    return (tree[0] if len(tree) == 1 else {"any": tree}), sample


def _labels_of(tree: Any) -> list[str]:
    found: list[str] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "label_confidence_below":
                found.extend(value)
            elif key in ("any", "all"):
                for child in value:
                    found.extend(_labels_of(child))
    return found


def _template(arn: str) -> CustomTemplateVersion:
    field = "HumanLoopConfig.HumanTaskUiArn"
    try:
        name = arns.resource_name(arn, field=field, kind="human-task-ui")
    except arns.ArnRefused as exc:
        raise ValidationFailed(str(exc), details={"field": field}) from None
    template = CustomTemplate.objects.filter(name=name).first()
    if template is None:
        raise NotFound(f"{field}: there is no human task UI {arn}")
    return CustomTemplateVersion.objects.get(template=template, number=template.latest_version)


def _check_ranges(loop_config: dict[str, Any]) -> None:
    """Quorum's ranges where they are narrower than the service's, named in the refusal."""
    limits = {
        "TaskAvailabilityLifetimeInSeconds": (60, 30 * 86400),
        "TaskTimeLimitInSeconds": tuple(
            validator.limit_value
            for validator in Job._meta.get_field("task_time_limit_seconds").validators
        ),
    }
    for name, (low, high) in limits.items():
        value = loop_config.get(name)
        if value is not None and not low <= value <= high:
            field = f"HumanLoopConfig.{name}"
            raise ValidationFailed(
                f"{field} must be from {low} to {high} in Quorum, not {value}",
                details={"field": field},
            )


@transaction.atomic
def flow_definition_create(*, created_by: User, request: dict[str, Any]) -> Flow:
    name = request["FlowDefinitionName"]
    if Flow.objects.filter(name=name).exists():
        raise Conflict(f"Flow definition {name} already exists", code="duplicate_name")
    loop_config = request["HumanLoopConfig"]
    activation = request.get("HumanLoopActivationConfig") or {}
    document = (activation.get("HumanLoopActivationConditionsConfig") or {}).get(
        "HumanLoopActivationConditions"
    )
    source = (request.get("HumanLoopRequestSource") or {}).get("AwsManagedHumanLoopRequestSource")
    if source is not None and source not in SOURCE_TASK_TYPES:
        raise ValidationFailed(
            f"HumanLoopRequestSource.AwsManagedHumanLoopRequestSource must be one of "
            f"{', '.join(SOURCE_TASK_TYPES)}",
            details={"field": "HumanLoopRequestSource.AwsManagedHumanLoopRequestSource"},
        )
    conditions, sample = {}, None
    if document:
        try:
            conditions, sample = activation_conditions(document, builtin=source is not None)
        except ConditionsRefused as exc:
            raise ValidationFailed(str(exc), details={"field": CONDITIONS_FIELD}) from None
    _check_ranges(loop_config)
    # A built-in review (Textract forms, Rekognition moderation) shows Quorum's own review
    # UI; its HumanTaskUiArn must still name a human task UI, as the service requires.
    version = _template(loop_config["HumanTaskUiArn"])
    team = workteam_for_arn(loop_config["WorkteamArn"], field="HumanLoopConfig.WorkteamArn")
    if source is not None:
        task_type, labels, template = SOURCE_TASK_TYPES[source], [], ""
    else:
        labels = list(dict.fromkeys(_labels_of(conditions))) or [FLOW_LABEL]
        task_type, template = "custom", version.source
    flow = flow_create(
        created_by=created_by,
        name=name,
        team=team,
        task_type=task_type,
        labels=labels,
        workers_per_loop=loop_config["TaskCount"],
        task_time_limit_seconds=loop_config.get("TaskTimeLimitInSeconds", 3600),
        loop_lifetime_seconds=loop_config.get("TaskAvailabilityLifetimeInSeconds", 86400),
        short_instructions=loop_config.get("TaskDescription", ""),
        full_instructions=loop_config.get("TaskTitle", ""),
        conditions=conditions,
        sample_percent=sample,
        custom_template=template,
        data_may_leave_private=team.kind != TeamKind.PRIVATE,
        # Each loop's output.json goes to <S3OutputPath>/<flow>/YYYY/MM/DD/hh/mm/ss/<loop>/.
        output_path=(request.get("OutputConfig") or {}).get("S3OutputPath", ""),
    )
    FlowDefinitionSpec.objects.create(flow=flow, request=request)
    return flow


def flow_definition_activate(*, flow_id: int) -> bool:
    """Initializing → Active once the flow's backing job runs. Idempotent."""
    spec = FlowDefinitionSpec.objects.select_related("flow__job").filter(flow_id=flow_id).first()
    if spec is None or spec.activated_at is not None:
        return False
    if spec.flow.job.status != JobStatus.IN_PROGRESS:
        return False
    return bool(
        FlowDefinitionSpec.objects.filter(pk=spec.pk, activated_at__isnull=True).update(
            activated_at=timezone.now()
        )
    )


def flow_definitions_activate_pending(*, batch: int = 100) -> int:
    """Activate the flows whose activation message was lost (the periodic sweep)."""
    waiting = FlowDefinitionSpec.objects.filter(activated_at__isnull=True, failure_reason="")
    return sum(
        flow_definition_activate(flow_id=flow_id)
        for flow_id in waiting.values_list("flow_id", flat=True)[:batch]
    )


@transaction.atomic
def flow_definition_delete(*, flow: Flow, by: User) -> None:
    """Delete a flow with no loop in progress (one with open loops is in use). Its backing
    job stays, stopped and renamed, so that the name can be used again."""
    if HumanLoop.objects.filter(
        flow=flow, status__in=(HumanLoopStatus.IN_PROGRESS, HumanLoopStatus.STOPPING)
    ).exists():
        raise Conflict(
            f"Flow definition {flow.name} has human loops in progress; stop them first",
            code="in_use",
        )
    job = flow.job
    if job.status in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        job_stop(job=job, by=by, reason="DeleteFlowDefinition")
    suffix = f" (deleted {timezone.now():%Y-%m-%dT%H:%M:%S.%fZ})"
    Job.objects.filter(pk=job.pk).update(name=(job.name[: 200 - len(suffix)] + suffix))
    # flow_create names the flow's own template after its backing job.
    CustomTemplate.objects.filter(name=job.name).update(name=job.name[: 200 - len(suffix)] + suffix)
    flow.delete()
