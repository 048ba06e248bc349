"""Labeling jobs: Create, Describe, List, Stop, ListLabelingJobsForWorkteam."""

from typing import Any

from django.db.models import CharField
from django.db.models.functions import Cast

from control_plane import arns, selectors
from control_plane.models import LabelingJobStatus
from control_plane.operations.common import (
    Call,
    created_between,
    invalid,
    not_found,
    page,
)
from control_plane.service_model import parse_timestamp
from control_plane.services.labeling_jobs import (
    labeling_job_create,
    labeling_job_stop,
    workteam_for_arn,
)
from labeling.errors import ValidationFailed
from labeling.models import Job
from labeling.pipelines.selectors import hook_item_counts, stream_expired_count
from labeling.states import JobStatus

SORT_FIELDS = {"Name": "name", "CreationTime": "created_at", "Status": "status"}


def job_arn(job: Job) -> str:
    return arns.quorum_arn("labeling-job", job.name)


def _counters(job: Job) -> dict[str, int]:
    counts = selectors.label_counts(job)
    # issue 16: a streaming job's items that expired unanswered never get a label
    expired = stream_expired_count(job_id=job.pk) if job.open_ended else 0
    return {
        "TotalLabeled": counts.labeled,
        "HumanLabeled": counts.human,
        "MachineLabeled": counts.machine,
        # issue 16: items expired in a streaming job and items whose hook failed for good
        "FailedNonRetryableError": expired + hook_item_counts(job_id=job.pk)["failed"],
        "Unlabeled": max(counts.unlabeled - expired, 0),
    }


def _output_uri(request: dict[str, Any], job: Job) -> str:
    path = request.get("OutputConfig", {}).get("S3OutputPath", "").rstrip("/")
    return f"{path}/{job.name}/manifests/output/output.manifest"


def _output(request: dict[str, Any], job: Job, status: str) -> dict[str, Any]:
    """``LabelingJobOutput`` once the final output.manifest is written: a stopped job's too,
    as the service gives it, so a script that stopped a job reads what was labeled."""
    if not request or status not in (LabelingJobStatus.COMPLETED, LabelingJobStatus.STOPPED):
        return {}
    return {"LabelingJobOutput": {"OutputDatasetS3Uri": _output_uri(request, job)}}


def _human_task_config(job: Job, request: dict[str, Any]) -> dict[str, Any]:
    if request:
        return request["HumanTaskConfig"]
    return {
        "WorkteamArn": arns.workteam_arn(job.team.kind, job.team.name),
        "UiConfig": {},
        "TaskTitle": job.name,
        "TaskDescription": job.short_instructions or job.name,
        "NumberOfHumanWorkersPerDataObject": job.workers_per_item,
        "TaskTimeLimitInSeconds": job.task_time_limit_seconds,
        "TaskAvailabilityLifetimeInSeconds": job.availability_lifetime_seconds,
    }


def _summary(job: Job) -> dict[str, Any]:
    spec = selectors.spec_of(job)
    request = spec.request if spec else {}
    config = _human_task_config(job, request)
    status = selectors.labeling_job_status(job)
    summary = {
        "LabelingJobName": job.name,
        "LabelingJobArn": job_arn(job),
        "CreationTime": job.created_at,
        "LastModifiedTime": job.last_modified,
        "LabelingJobStatus": status,
        "LabelCounters": _counters(job),
        "WorkteamArn": config["WorkteamArn"],
        "PreHumanTaskLambdaArn": config.get("PreHumanTaskLambdaArn", ""),
    }
    if spec and spec.failure_reason:
        summary["FailureReason"] = spec.failure_reason
    if request.get("InputConfig"):
        summary["InputConfig"] = request["InputConfig"]
    if config.get("AnnotationConsolidationConfig"):
        summary["AnnotationConsolidationLambdaArn"] = config["AnnotationConsolidationConfig"][
            "AnnotationConsolidationLambdaArn"
        ]
    summary.update(_output(request, job, status))
    return summary


def _job(name: str) -> Job:
    job = selectors.labeling_job_get(name=name)
    if job is None:
        raise not_found(f"Could not find labeling job {name}")
    return job


def create_labeling_job(call: Call) -> dict[str, Any]:
    job = labeling_job_create(created_by=call.user, request=call.body)
    return {"LabelingJobArn": job_arn(job)}


def describe_labeling_job(call: Call) -> dict[str, Any]:
    job = _job(call.get("LabelingJobName"))
    spec = selectors.spec_of(job)
    request = spec.request if spec else {}
    status = selectors.labeling_job_status(job)
    body = {
        "LabelingJobName": job.name,
        "LabelingJobArn": job_arn(job),
        "LabelingJobStatus": status,
        "LabelCounters": _counters(job),
        "CreationTime": job.created_at,
        "LastModifiedTime": job.last_modified,
        "JobReferenceCode": str(job.pk),
        "LabelAttributeName": job.label_attribute_name,
        "InputConfig": request.get("InputConfig", {"DataSource": {}}),
        "OutputConfig": request.get("OutputConfig", {"S3OutputPath": ""}),
        "RoleArn": request.get("RoleArn", ""),
        "HumanTaskConfig": _human_task_config(job, request),
    }
    for name in (
        "LabelCategoryConfigS3Uri",
        "StoppingConditions",
        "LabelingJobAlgorithmsConfig",
        "Tags",
    ):
        if request.get(name):
            body[name] = request[name]
    if spec and spec.failure_reason:
        body["FailureReason"] = spec.failure_reason
    body.update(_output(request, job, status))
    return body


def list_labeling_jobs(call: Call) -> dict[str, Any]:
    jobs = created_between(selectors.labeling_jobs(), call)
    if call.get("LastModifiedTimeAfter") is not None:
        jobs = jobs.filter(last_modified__gt=parse_timestamp(call.get("LastModifiedTimeAfter")))
    if call.get("LastModifiedTimeBefore") is not None:
        jobs = jobs.filter(last_modified__lt=parse_timestamp(call.get("LastModifiedTimeBefore")))
    if call.get("NameContains"):
        jobs = jobs.filter(name__icontains=call.get("NameContains"))
    if call.get("StatusEquals"):
        jobs = selectors.jobs_with_status(jobs, call.get("StatusEquals"))
    field = SORT_FIELDS[call.get("SortBy") or "CreationTime"]
    # The model: "The default is Ascending" (for SortOrder) in both listings of jobs.
    rows, token = page(jobs, call, field=field, listing="labeling-jobs", default_ascending=True)
    return {"LabelingJobSummaryList": [_summary(job) for job in rows], **token}


def stop_labeling_job(call: Call) -> dict[str, Any]:
    job = _job(call.get("LabelingJobName"))
    if job.status == JobStatus.COMPLETED:
        raise invalid(f"Labeling job {job.name} has completed; it cannot be stopped")
    labeling_job_stop(job=job, by=call.user)
    return {}


def list_labeling_jobs_for_workteam(call: Call) -> dict[str, Any]:
    try:
        team = workteam_for_arn(call.get("WorkteamArn"), field="WorkteamArn")
    except ValidationFailed as exc:
        raise invalid(exc.message) from None
    jobs = created_between(selectors.labeling_jobs().filter(team=team), call)
    if call.get("JobReferenceCodeContains"):
        jobs = jobs.annotate(reference=Cast("pk", CharField())).filter(
            reference__contains=call.get("JobReferenceCodeContains")
        )
    rows, token = page(
        jobs, call, field="created_at", listing=f"team-jobs:{team.pk}", default_ascending=True
    )
    summaries = []
    for job in rows:
        counts = selectors.label_counts(job)
        summaries.append(
            {
                "LabelingJobName": job.name,
                "JobReferenceCode": str(job.pk),
                "WorkRequesterAccountId": arns.account_id(),
                "CreationTime": job.created_at,
                "LabelCounters": {
                    "HumanLabeled": counts.human,
                    "PendingHuman": counts.unlabeled,
                    "Total": counts.total,
                },
                "NumberOfHumanWorkersPerDataObject": job.workers_per_item,
            }
        )
    return {"LabelingJobSummaryList": summaries, **token}


OPERATIONS = {
    "CreateLabelingJob": create_labeling_job,
    "DescribeLabelingJob": describe_labeling_job,
    "ListLabelingJobs": list_labeling_jobs,
    "StopLabelingJob": stop_labeling_job,
    "ListLabelingJobsForWorkteam": list_labeling_jobs_for_workteam,
}
