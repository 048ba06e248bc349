"""What automated labeling gives model-quality monitoring: a retrained model's validation
metrics become the baseline of its version on the flows its job is the dataset of."""

from active_learning.models import TrainingRound
from active_learning.states import RoundStatus
from labeling.models import Job
from workflows.models import Flow
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
