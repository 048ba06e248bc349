"""Creating flow definitions, each with the labeling job that its loops' items live in."""

import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.data.storage import StorageError, storage_join, storage_locate
from labeling.errors import Conflict, ValidationFailed
from labeling.models import CustomTemplateVersion, Job, Team, User
from labeling.outbound import OutboundRefused, outbound_check_url
from labeling.services.jobs import job_create, job_transition
from labeling.states import JobStatus
from labeling.task_types.moderation_review import DEFAULT_TAXONOMY
from labeling.task_ui.services.templates import (
    custom_template_create,
    job_template_set,
    template_check,
)
from workflows.conditions import ConditionProblem, validate_conditions
from workflows.inference import (
    SOURCE_TASK_TYPES,
    TASK_TYPE_SOURCES,
    TEXTRACT_FORMS,
    important_form_keys,
    tree_sources,
)
from workflows.models import NAME_MAX_CHARS, NAME_PATTERN, Flow
from workflows.states import FlowStatus
from workflows.task_types import base_task_type, review_variant

NAME_RE = re.compile(NAME_PATTERN)
BACKING_JOB_PREFIX = "review-loops/"


def check_name(name: str, *, field: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX_CHARS or not NAME_RE.match(name):
        raise ValidationFailed(
            f"{field} must be 1 to {NAME_MAX_CHARS} of a-z, 0-9 and hyphens, starting and "
            f"ending with a letter or digit, not {name!r}",
            details={"field": field},
        )
    return name


@transaction.atomic
def flow_output_path_check(output_path: str) -> str:
    """An S3OutputPath as stored: blank, or a complete ``s3://bucket[/prefix]``."""
    text = (output_path or "").strip().rstrip("/")
    if not text:
        return ""
    if not text.startswith("s3://"):
        raise ValidationFailed(
            "output_path must be an s3://bucket/prefix URI", details={"field": "output_path"}
        )
    try:
        storage_locate(storage_join(text, "flow/output.json"))
    except StorageError as exc:
        raise ValidationFailed(
            f"output_path: {exc.message}", details={"field": "output_path"}
        ) from None
    return text


def _builtin_review_check(
    task_type: str, conditions: dict[str, Any], labels: list[str], custom_template: str
) -> list[str]:
    """The leaves of a flow's conditions must read what its loops carry: the built-in
    reviews' leaves the AI service's answer of their own review, the others a prediction.
    Returns the labels, the built-in reviews' defaults when none are given."""
    source = TASK_TYPE_SOURCES.get(task_type, "")
    for needed in sorted(tree_sources(conditions) - {source}):
        if needed:
            wanted = SOURCE_TASK_TYPES[needed]
            message = (
                f"conditions: a leaf that reads {needed} answers belongs to a {wanted} flow, "
                f"not to a {task_type} one"
            )
        else:
            message = (
                f"conditions: a {task_type} flow's loops carry {source} answers, not a "
                "prediction's label and confidence: use the form_key_* or "
                "moderation_label_confidence leaves"
            )
        raise ValidationFailed(message, details={"field": "conditions"})
    if source and custom_template.strip():
        raise ValidationFailed(
            f"a {task_type} flow has its built-in review UI, not a custom template",
            details={"field": "custom_template"},
        )
    if not source or labels:
        return labels
    if source == TEXTRACT_FORMS:
        keys = [entry["importantFormKey"] for entry in important_form_keys(conditions)]
        return keys or ["document"]
    return list(DEFAULT_TAXONOMY)


def flow_create(
    *,
    created_by: User,
    name: str,
    team: Team,
    task_type: str,
    labels: list[str],
    workers_per_loop: int = 1,
    task_time_limit_seconds: int = 300,
    loop_lifetime_seconds: int = 24 * 3600,
    short_instructions: str = "",
    full_instructions: str = "",
    conditions: dict[str, Any] | None = None,
    sample_percent: float | None = None,
    source_key: str = "source",
    webhook_url: str = "",
    dataset_job: Job | None = None,
    custom_template: str = "",
    data_may_leave_private: bool = False,
    output_path: str = "",
) -> Flow:
    """Create a flow and start its backing job: its team can review loops at once.

    ``output_path`` (S3OutputPath) ``s3://bucket/prefix``: each completed loop's output document
    is written under it as well (docs/storage.md).

    A crowd or vendor team needs ``data_may_leave_private`` (the personal-data rule), and
    then every loop must declare its content free of personal data and adult content.
    """
    check_name(name, field="name")
    output_path = flow_output_path_check(output_path)
    if webhook_url:
        try:
            outbound_check_url(webhook_url)
        except OutboundRefused as exc:
            raise ValidationFailed(
                f"webhook_url is not allowed ({exc.reason}): {exc.message}",
                code="webhook_url_not_allowed",
                details={"field": "webhook_url", "reason": exc.reason},
            ) from None
    try:
        conditions = validate_conditions(conditions)
    except ConditionProblem as exc:
        raise ValidationFailed(str(exc), details={"field": "conditions"}) from None
    labels = _builtin_review_check(task_type, conditions, labels, custom_template)
    if sample_percent is not None and not 0.01 <= sample_percent <= 100:
        raise ValidationFailed(
            "sample_percent must be from 0.01 to 100", details={"field": "sample_percent"}
        )
    if not 60 <= loop_lifetime_seconds <= 30 * 86400:
        raise ValidationFailed(
            "loop_lifetime_seconds must be from 60 to 2592000",
            details={"field": "loop_lifetime_seconds"},
        )
    if custom_template.strip():
        try:
            template_check(source=custom_template, sample={})
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message, details={**exc.details, "field": "custom_template"}
            ) from None
    if dataset_job is not None:
        if base_task_type(dataset_job.task_type) != base_task_type(task_type):
            raise ValidationFailed(
                f"the dataset job {dataset_job.name!r} is a {dataset_job.task_type} job and "
                f"this flow reviews {task_type}: reviewed answers could not join it",
                details={"field": "dataset_job"},
            )
        missing = [label for label in labels if label not in dataset_job.labels]
        if missing:
            raise ValidationFailed(
                f"the dataset job {dataset_job.name!r} has no label {missing[0]!r}: reviewed "
                "answers could not join it",
                details={"field": "dataset_job"},
            )
    if Flow.objects.filter(name=name).exists():
        raise Conflict(f"a flow named {name!r} exists already", code="duplicate_name")
    job = job_create(
        created_by=created_by,
        name=f"{BACKING_JOB_PREFIX}{name}",
        task_type=review_variant(task_type),
        labels=labels,
        team=team,
        workers_per_item=workers_per_loop,
        short_instructions=short_instructions,
        full_instructions=full_instructions,
        label_attribute_name=name,
        task_time_limit_seconds=task_time_limit_seconds,
        data_may_leave_private=data_may_leave_private,
        listed=False,  # the flow's page links it; the console's jobs list leaves it out
    )
    # Open-ended: loops add items while it runs (counted in its counter shards, so starts
    # never wait on the job row), and it does not complete while its flow lives.
    Job.objects.filter(pk=job.pk).update(open_ended=True)
    job.open_ended = True
    if custom_template.strip():
        # The task UI is a custom template (docs/templates.md), attached while the job is a
        # draft; the template is named after the backing job.
        template = custom_template_create(
            created_by=created_by, name=job.name, source=custom_template.strip()
        )
        version = CustomTemplateVersion.objects.get(
            template=template, number=template.latest_version
        )
        job_template_set(job=job, version=version, by=created_by)
    # No expiry: a loop's own lifetime bounds the work on it.
    job_transition(
        job=job, to=JobStatus.IN_PROGRESS, by=created_by, started_at=timezone.now(), expires_at=None
    )
    flow = Flow(
        name=name,
        job=job,
        team=team,
        source_key=source_key or "source",
        loop_lifetime_seconds=loop_lifetime_seconds,
        conditions=conditions,
        sample_percent=sample_percent,
        webhook_url=webhook_url,
        webhook_secret=secrets.token_hex(32),
        dataset_job=dataset_job,
        created_by=created_by,
        output_path=output_path,
    )
    try:
        with transaction.atomic():
            flow.save()
    except IntegrityError:
        raise Conflict(f"a flow named {name!r} exists already", code="duplicate_name") from None
    return flow


def flow_set_status(*, flow: Flow, status: str) -> Flow:
    """Activate or deactivate a flow: an inactive flow starts no loops; open ones go on."""
    if status not in FlowStatus.values:
        raise ValidationFailed(f"status must be one of {', '.join(FlowStatus.values)}")
    Flow.objects.filter(pk=flow.pk).update(status=status)
    flow.status = status
    return flow


def flow_set_sample_percent(*, flow: Flow, sample_percent: float | None) -> Flow:
    """A manager sets the flow's random audit share (None: no random audit). While
    monitoring has raised it for an open alert, the manager's share is kept when the alert
    clears (workflows/monitoring/services/alerts.py)."""
    if sample_percent is not None and (
        isinstance(sample_percent, bool) or not 0.01 <= sample_percent <= 100
    ):
        raise ValidationFailed(
            "sample_percent must be from 0.01 to 100", details={"field": "sample_percent"}
        )
    Flow.objects.filter(pk=flow.pk).update(sample_percent=sample_percent)
    flow.sample_percent = sample_percent
    return flow


def flow_rotate_webhook_secret(*, flow: Flow) -> Flow:
    flow.webhook_secret = secrets.token_hex(32)
    flow.save(update_fields=["webhook_secret"])
    return flow
