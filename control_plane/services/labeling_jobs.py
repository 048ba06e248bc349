"""CreateLabelingJob and StopLabelingJob: the managed service's request turned into a Quorum job.

The job is created (draft) with the request's fields mapped onto Quorum's; its manifest is
read from storage and imported by the worker (``control_plane.labeling_job_import``), and when
the import ends the job starts, or stops with the bad manifest line as its failure reason.
"""

import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from active_learning.services.settings import auto_labeling_enable
from control_plane import arns
from control_plane.models import LabelingJobSpec
from control_plane.services.labeling_job_streams import labeling_job_stream_setup
from labeling.after_commit import on_commit_safely
from labeling.data.services.imports import import_stage_manifest
from labeling.data.services.outputs import job_output_configure, job_output_request
from labeling.data.storage import StorageError, storage_open
from labeling.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from labeling.models import CustomTemplateVersion, ImportRun, Job, Team, TeamKind, User
from labeling.pipelines.services.chains import chain_from_output_manifest
from labeling.pipelines.services.hooks import (
    LambdaHooks,
    hooks_from_lambda_arns,
    job_hooks_from_lambdas,
)
from labeling.services.jobs import job_create, job_start, job_stop
from labeling.states import ImportStatus, JobStatus
from labeling.task_ui.services.templates import custom_template_create, job_template_set
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import job_publish

logger = logging.getLogger(__name__)

LABELING_JOB_IMPORT_TASK = "control_plane.labeling_job_import"
SWEEP_BATCH_SIZE = 100
SWEEP_GRACE_SECONDS = 60
READ_CHUNK_BYTES = 1 << 20
MAX_SMALL_OBJECT_BYTES = 2 << 20  # label categories and templates
PUBLIC_CROWD_TEAM = "Public crowd"
TEMPLATE_FIELD = "HumanTaskConfig.UiConfig.UiTemplateS3Uri"
CLASSIFIERS = ("FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent")
# The request's fields that are Quorum job fields, and the Job field each one sets.
RANGED_FIELDS = {
    "NumberOfHumanWorkersPerDataObject": "workers_per_item",
    "TaskTimeLimitInSeconds": "task_time_limit_seconds",
    "TaskAvailabilityLifetimeInSeconds": "availability_lifetime_seconds",
}


def _invalid(message: str, field: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": field})


def _read_small(uri: str, *, field: str) -> bytes:
    try:
        with storage_open(uri) as stream:
            body = stream.read(MAX_SMALL_OBJECT_BYTES + 1)
    except StorageError as exc:
        raise _invalid(f"{field}: {exc.message}", field) from None
    if len(body) > MAX_SMALL_OBJECT_BYTES:
        raise _invalid(f"{field}: {uri} is larger than {MAX_SMALL_OBJECT_BYTES} bytes", field)
    return body


def label_categories(uri: str) -> list[str]:
    """The labels of a label category configuration: ``{"labels": [{"label": …}, …]}``."""
    field = "LabelCategoryConfigS3Uri"
    try:
        document = json.loads(_read_small(uri, field=field))
    except ValueError:
        raise _invalid(f"{field}: {uri} is not JSON", field) from None
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, list) or not labels:
        raise _invalid(f'{field}: {uri} has no "labels" list', field)
    names = []
    for position, entry in enumerate(labels):
        name = entry.get("label") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise _invalid(f'{field}: labels[{position}] has no "label" text', field)
        names.append(name)
    return names


def workteam_for_arn(arn: str, *, field: str) -> Team:
    """The team of a work team ARN: the public crowd is Quorum's (first) crowd team."""
    try:
        name = arns.resource_name(arn, field=field, kind="workteam")
    except arns.ArnRefused as exc:
        raise _invalid(str(exc), field) from None
    if name == arns.PUBLIC_CROWD:
        crowd = Team.objects.filter(kind=TeamKind.CROWD).order_by("pk").first()
        return crowd or team_create(name=PUBLIC_CROWD_TEAM, kind=TeamKind.CROWD)
    kind, _, team_name = name.partition("/")
    wanted = {"private-crowd": TeamKind.PRIVATE, "vendor-crowd": TeamKind.VENDOR}.get(kind)
    team = Team.objects.filter(name=team_name, kind=wanted).first() if wanted else None
    if team is None:
        raise NotFound(f"{field}: there is no work team {arn}")
    return team


def _task_type(config: dict[str, Any]) -> str:
    field = "HumanTaskConfig.PreHumanTaskLambdaArn"
    ui_arn = (config.get("UiConfig") or {}).get("HumanTaskUiArn")
    try:
        if config.get("PreHumanTaskLambdaArn"):
            task_type = arns.managed_task_type(
                config["PreHumanTaskLambdaArn"], field=field, prefixes=("PRE-",)
            )
        elif ui_arn:
            field = "HumanTaskConfig.UiConfig.HumanTaskUiArn"
            task_type = arns.managed_task_type(ui_arn, field=field, prefixes=())
        else:
            raise _invalid(f"{field} is required (a managed PRE-<Type> function)", field)
        consolidation = (config.get("AnnotationConsolidationConfig") or {}).get(
            "AnnotationConsolidationLambdaArn"
        )
        if consolidation:
            field = "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn"
            if arns.managed_task_type(consolidation, field=field, prefixes=("ACS-",)) != task_type:
                raise _invalid(
                    f"{field}: {consolidation} is not the task type's ACS- function", field
                )
    except arns.ArnRefused as exc:
        raise _invalid(str(exc), field) from None
    return task_type


def _check_ranges(config: dict[str, Any]) -> None:
    """Quorum's ranges where they are narrower than the service's, named in the refusal."""
    for name, field_name in RANGED_FIELDS.items():
        value = config.get(name)
        if value is None:
            continue
        for validator in Job._meta.get_field(field_name).validators:
            limit = validator.limit_value
            if validator.compare(value, limit):
                bound = "at least" if validator.code == "min_value" else "at most"
                raise _invalid(
                    f"HumanTaskConfig.{name} must be {bound} {limit} in Quorum, not {value}",
                    f"HumanTaskConfig.{name}",
                )


def _reward_cents(config: dict[str, Any]) -> int | None:
    price = (config.get("PublicWorkforceTaskPrice") or {}).get("AmountInUsd")
    if not price:
        return None
    tenths = price.get("TenthFractionsOfACent", 0)
    return price.get("Dollars", 0) * 100 + price.get("Cents", 0) + (1 if tenths >= 5 else 0)


def _check_algorithm(request: dict[str, Any], task_type: str) -> None:
    config = request.get("LabelingJobAlgorithmsConfig")
    if not config:
        return
    field = "LabelingJobAlgorithmsConfig.LabelingJobAlgorithmSpecificationArn"
    try:
        name = arns.algorithm(config.get("LabelingJobAlgorithmSpecificationArn", ""), field=field)
    except arns.ArnRefused as exc:
        raise _invalid(str(exc), field) from None
    if task_type not in arns.ALGORITHMS[name]:
        raise _invalid(f"{field}: the {name} algorithm does not label {task_type} jobs", field)
    if config.get("InitialActiveLearningModelArn"):
        field = "LabelingJobAlgorithmsConfig.InitialActiveLearningModelArn"
        raise _invalid(f"{field}: Quorum trains its own models; leave it out", field)


def labeling_job_create(*, created_by: User, request: dict[str, Any]) -> Job:
    """A draft job for the request, its template and spec; its import queued after commit.

    The label categories and the template are read from storage first, outside the
    transaction, so no database lock waits on the store."""
    config = request["HumanTaskConfig"]
    # issue 16: Lambda ARNs that are not the managed service's name registered hooks
    lambda_hooks = hooks_from_lambda_arns(config=config, user=created_by)
    task_type = "custom" if lambda_hooks.custom_task else _task_type(lambda_hooks.config)
    _check_ranges(config)
    _check_algorithm(request, task_type)
    categories = request.get("LabelCategoryConfigS3Uri")
    if not categories:
        raise _invalid(
            "LabelCategoryConfigS3Uri is required: Quorum's jobs need their labels",
            "LabelCategoryConfigS3Uri",
        )
    labels = label_categories(categories)
    template_uri = (config.get("UiConfig") or {}).get("UiTemplateS3Uri")
    source = None
    if template_uri:
        source = _read_small(template_uri, field=TEMPLATE_FIELD).decode("utf-8", errors="replace")
    return _labeling_job_store(
        created_by=created_by,
        request=request,
        task_type=task_type,
        labels=labels,
        source=source,
        lambda_hooks=lambda_hooks,
    )


@transaction.atomic
def _labeling_job_store(
    *,
    created_by: User,
    request: dict[str, Any],
    task_type: str,
    labels: list[str],
    source: str | None,
    lambda_hooks: LambdaHooks | None = None,
) -> Job:
    config = request["HumanTaskConfig"]
    if Job.objects.filter(name=request["LabelingJobName"]).exists():
        raise Conflict(
            f"Labeling job {request['LabelingJobName']} already exists", code="duplicate_name"
        )
    team = workteam_for_arn(config["WorkteamArn"], field="HumanTaskConfig.WorkteamArn")
    declared = (request["InputConfig"].get("DataAttributes") or {}).get("ContentClassifiers", [])
    job = job_create(
        created_by=created_by,
        name=request["LabelingJobName"],
        task_type=task_type,
        labels=labels,
        team=team,
        workers_per_item=config["NumberOfHumanWorkersPerDataObject"],
        short_instructions=config.get("TaskDescription", ""),
        full_instructions=config.get("TaskTitle", ""),
        label_attribute_name=request["LabelAttributeName"],
        task_time_limit_seconds=config["TaskTimeLimitInSeconds"],
        availability_lifetime_seconds=config.get("TaskAvailabilityLifetimeInSeconds", 10 * 86400),
        data_may_leave_private=all(name in declared for name in CLASSIFIERS),
    )
    if source is not None:
        try:
            template = custom_template_create(
                created_by=created_by, name=f"labeling-job/{job.name}", source=source
            )
        except ValidationFailed as exc:
            raise _invalid(f"{TEMPLATE_FIELD}: {exc.message}", TEMPLATE_FIELD) from None
        version = CustomTemplateVersion.objects.get(
            template=template, number=template.latest_version
        )
        job_template_set(job=job, version=version, by=created_by)
    reward = _reward_cents(config)
    if reward is not None and team.kind == TeamKind.CROWD:
        job_publish(job=job, reward_cents=reward, qualification_pass_mark=None)
    # Results go where the managed service put them: <S3OutputPath>/<job>/... (docs/storage.md).
    job_output_configure(job=job, output_path=request["OutputConfig"]["S3OutputPath"])
    if lambda_hooks is not None:  # issue 16: before the import, so its items wait for the hook
        job_hooks_from_lambdas(job=job, hooks=lambda_hooks, by=created_by)
    spec = LabelingJobSpec.objects.create(job=job, request=request)
    # issue 16: an SnsDataSource makes a streaming job (started now, fed by POST …/items)
    if not labeling_job_stream_setup(job=job, request=request, by=created_by):
        _enqueue_import(spec)
    return job


def _enqueue_import(spec: LabelingJobSpec) -> None:
    on_commit_safely(
        current_app.signature(LABELING_JOB_IMPORT_TASK, args=(spec.pk,)).delay,
        what=f"queueing the import of labeling job spec {spec.pk}",
    )


def _fail(spec: LabelingJobSpec, reason: str) -> None:
    LabelingJobSpec.objects.filter(pk=spec.pk, failure_reason="").update(
        failure_reason=reason[:1024], updated_at=timezone.now()
    )
    job = Job.objects.get(pk=spec.job_id)
    if job.status in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        with contextlib.suppress(InvalidTransition):
            job_stop(job=job, by=None, reason=reason[:300])


def labeling_job_import(*, spec_id: int) -> LabelingJobSpec | None:
    """Stage the job's manifest from storage and queue its import. Idempotent: a job that has
    an import already (a run that staged it and died before linking it), or that failed or
    left the draft state, stages nothing. The download is streamed to the staging folder
    outside any transaction, so no database lock is held while it runs."""
    spec = LabelingJobSpec.objects.select_related("job").filter(pk=spec_id).first()
    if spec is None or spec.import_run_id or spec.failure_reason:
        return spec
    if spec.job.status != JobStatus.DRAFT:
        return spec
    staged = ImportRun.objects.filter(job_id=spec.job_id).order_by("pk").first()
    if staged is not None:
        LabelingJobSpec.objects.filter(pk=spec.pk, import_run=None).update(import_run=staged)
        spec.refresh_from_db()
        return spec
    uri = spec.request["InputConfig"]["DataSource"].get("S3DataSource", {}).get("ManifestS3Uri")
    if not uri:
        _fail(spec, "InputConfig.DataSource: only S3DataSource.ManifestS3Uri is supported")
        return spec
    if _chained_to_quorum_output(spec, uri):
        spec.refresh_from_db()
        return spec
    try:
        with storage_open(uri) as stream:
            run = import_stage_manifest(
                job=spec.job,
                created_by=spec.job.created_by,
                chunks=iter(lambda: stream.read(READ_CHUNK_BYTES), b""),
                original_name=uri[-255:],
            )
        # The run may have ended already (its receiver links it too); link it if not.
        LabelingJobSpec.objects.filter(pk=spec.pk, import_run=None).update(import_run=run)
    except StorageError as exc:
        _fail(spec, f"ManifestS3Uri: {exc.message}")
    except ValidationFailed as exc:
        _fail(spec, f"ManifestS3Uri {uri}: {exc.message}")
    spec.refresh_from_db()
    return spec


def _chained_to_quorum_output(spec: LabelingJobSpec, uri: str) -> bool:
    """Issue 16: an input manifest that is a Quorum job's output manifest chains the new job
    to that job (the same LabelAttributeName continues it) instead of importing the file.
    True when it did (or failed the job, naming why)."""
    try:
        link = chain_from_output_manifest(job=spec.job, manifest_uri=uri, by=spec.job.created_by)
    except (ValidationFailed, Conflict, InvalidTransition) as exc:
        _fail(spec, f"ManifestS3Uri {uri}: {exc.message}")
        return True
    return link is not None


def _import_failure(run: ImportRun) -> str:
    if run.errors:
        first = run.errors[0]
        where = f"line {first['line']}" if "line" in first else str(first.get("file", ""))
        more = f" ({run.error_count} bad lines in all)" if run.error_count > 1 else ""
        return f"The input manifest's {where} is not valid: {first['reason']}{more}"
    return f"The input manifest could not be imported: {run.message}"


def labeling_job_after_import(*, job_id: int, import_id: int, status: str) -> None:
    """Start the job when its manifest is imported; fail it, naming the bad line, when not."""
    spec = LabelingJobSpec.objects.filter(job_id=job_id).first()
    if spec is None or spec.failure_reason or spec.import_run_id not in (None, import_id):
        return
    if spec.import_run_id is None:  # it ended before labeling_job_import linked it
        LabelingJobSpec.objects.filter(pk=spec.pk, import_run=None).update(import_run=import_id)
    job = Job.objects.select_related("created_by").get(pk=job_id)
    if status != ImportStatus.SUCCEEDED:
        _fail(spec, _import_failure(ImportRun.objects.get(pk=import_id)))
        return
    if job.status != JobStatus.DRAFT:
        return
    algorithms = spec.request.get("LabelingJobAlgorithmsConfig")
    if algorithms:
        budget = (spec.request.get("StoppingConditions") or {}).get("MaxHumanLabeledObjectCount")
        settings_given = {"human_budget": budget} if budget else {}
        auto_labeling_enable(job=job, by=job.created_by, **settings_given)
    try:
        job_start(job=job, by=job.created_by)
    except (Conflict, InvalidTransition) as exc:
        _fail(spec, f"the job could not start: {exc.message}")


def labeling_job_stop(*, job: Job, by: User) -> Job:
    if job.status == JobStatus.STOPPED:
        return job
    if job.status == JobStatus.COMPLETED:
        raise InvalidTransition(f"Labeling job {job.name} has completed; it cannot be stopped")
    with transaction.atomic():
        job = job_stop(job=job, by=by, reason="StopLabelingJob")
        # Stopping until its final output.manifest is written (without waiting for the sweep).
        job_output_request(job_id=job.pk)
    return job


def control_plane_sweep(*, now=None) -> dict[str, int]:
    """Backstop of lost messages and events: labeling jobs whose import was never staged, or
    whose import ended without starting or failing them, and flows left Initializing."""
    now = now or timezone.now()
    settled_before = now - timedelta(seconds=SWEEP_GRACE_SECONDS)
    counts = {"imports_requeued": 0, "imports_settled": 0}
    unstaged = LabelingJobSpec.objects.filter(
        import_run__isnull=True,
        failure_reason="",
        job__status=JobStatus.DRAFT,
        created_at__lt=settled_before,
    ).values_list("pk", flat=True)
    for spec_id in unstaged[:SWEEP_BATCH_SIZE]:
        # Sent again; a run that staged the manifest but died before linking it is linked.
        _enqueue_import(LabelingJobSpec(pk=spec_id))
        counts["imports_requeued"] += 1
    ended = LabelingJobSpec.objects.filter(
        failure_reason="",
        job__status=JobStatus.DRAFT,
        import_run__status__in=(ImportStatus.SUCCEEDED, ImportStatus.FAILED),
        import_run__finished_at__lt=settled_before,
    ).values_list("job_id", "import_run_id", "import_run__status")
    for job_id, import_id, status in ended[:SWEEP_BATCH_SIZE]:
        labeling_job_after_import(job_id=job_id, import_id=import_id, status=status)
        counts["imports_settled"] += 1
    return counts
