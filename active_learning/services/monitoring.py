"""What automated labeling gives model-quality monitoring: a retrained model's validation
metrics become the baseline of its version on the flows its job is the dataset of; the
accuracy of a job's automated labels over their audits is watched and alerted like a flow's
model (stored alerts, webhooks, cleared on recovery)."""

from active_learning.models import AutoLabel, TrainingRound
from active_learning.selectors import auto_label_quality
from active_learning.states import RoundStatus
from labeling.models import Job
from workflows.models import Flow, JobQualityAlert
from workflows.monitoring.services.alerts import job_alerts_sync
from workflows.monitoring.services.baselines import baseline_set


def retrained_version_name(job: Job, number: int) -> str:
    return f"quorum-job-{job.pk}-round-{number}"[:100]


def retrained_version_record(*, round_id: int) -> list[int]:
    """After a round is done: post its model's validation metrics as the baseline of its
    version on every flow that feeds the job (the flows whose dataset job it is). Returns
    the flows' ids; nothing when the round did not end with a validated model."""
    done = (
        TrainingRound.objects.select_related("artifact", "job")
        .filter(pk=round_id, status=RoundStatus.DONE)
        .first()
    )
    if done is None or done.artifact is None or done.validation_accuracy is None:
        return []
    metrics = {
        **done.artifact.metrics,
        "accuracy": done.validation_accuracy,
        "validation_size": done.validation_size,
        "round": done.number,
    }
    version = retrained_version_name(done.job, done.number)
    flows = list(Flow.objects.filter(dataset_job_id=done.job_id))
    for flow in flows:
        baseline_set(flow=flow, model_version=version, metrics=metrics)
    return [flow.pk for flow in flows]


def auto_label_alerts_evaluate(*, job: Job) -> list[JobQualityAlert]:
    """Run the detector over the job's audited automated labels and keep its stored alerts
    in step (open, clear, webhooks). Idempotent; returns the alerts opened now."""
    quality = auto_label_quality(job_id=job.pk)
    return job_alerts_sync(job=job, episodes=quality["episodes"])


def auto_label_alerts_sweep() -> int:
    """Evaluate every job whose automated labels have been audited; returns how many."""
    job_ids = (
        AutoLabel.objects.filter(audit__isnull=False).values_list("job_id", flat=True).distinct()
    )
    evaluated = 0
    for job in Job.objects.filter(pk__in=list(job_ids)):
        auto_label_alerts_evaluate(job=job)
        evaluated += 1
    return evaluated
