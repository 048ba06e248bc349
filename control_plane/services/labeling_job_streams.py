"""Streaming labeling jobs through the control plane (issue 16): CreateLabelingJob with an
``SnsDataSource`` makes a streaming job.

Quorum has no SNS. The input topic's ARN (and the output's ``SnsTopicArn``) are kept on the
job's stream settings and shown by DescribeLabelingJob; objects arrive by
``POST /api/v1/jobs/{id}/items`` and results leave by the job's results feed and webhook
(docs/pipelines.md). The job starts at once, empty, and runs until StopLabelingJob.
"""

from typing import Any

from labeling.errors import ValidationFailed
from labeling.models import Job, User
from labeling.pipelines.services.streaming import (
    MAX_ITEM_LIFETIME_SECONDS,
    MIN_ITEM_LIFETIME_SECONDS,
    stream_configure,
)
from labeling.services.jobs import job_start

SOURCE_FIELD = "InputConfig.DataSource"


def labeling_job_stream_setup(*, job: Job, request: dict[str, Any], by: User) -> bool:
    """Make the new draft ``job`` a streaming job and start it when the request's input is an
    SNS topic (inside the caller's transaction). False when the input is a manifest."""
    source = request["InputConfig"].get("DataSource") or {}
    sns = source.get("SnsDataSource")
    if not sns:
        return False
    if source.get("S3DataSource"):
        raise ValidationFailed(
            f"{SOURCE_FIELD}: give S3DataSource or SnsDataSource, not both",
            details={"field": SOURCE_FIELD},
        )
    if request.get("LabelingJobAlgorithmsConfig"):
        field = "LabelingJobAlgorithmsConfig"
        raise ValidationFailed(
            f"{field}: automated labeling needs a manifest; a streaming job has none",
            details={"field": field},
        )
    # The managed service's streaming objects expire after the task availability lifetime.
    lifetime = request["HumanTaskConfig"].get("TaskAvailabilityLifetimeInSeconds")
    if lifetime is not None:
        lifetime = min(max(lifetime, MIN_ITEM_LIFETIME_SECONDS), MAX_ITEM_LIFETIME_SECONDS)
    stream_configure(
        job=job,
        by=by,
        item_lifetime_seconds=lifetime,
        input_topic_arn=sns.get("SnsTopicArn", ""),
        output_topic_arn=(request.get("OutputConfig") or {}).get("SnsTopicArn", ""),
    )
    job_start(job=job, by=by)
    return True
