"""Celery tasks of model-quality monitoring: thin, named, idempotent."""

from celery import shared_task

from workflows.models import Flow
from workflows.monitoring.events import monitoring_swept
from workflows.monitoring.selectors import flows_to_evaluate
from workflows.monitoring.services.alerts import monitoring_evaluate
from workflows.monitoring.services.ground_truth import (
    ground_truth_export,
    ground_truth_exports_due,
)

MONITORING_SWEEP_TASK = "workflows.monitoring_sweep"


@shared_task(name=MONITORING_SWEEP_TASK, acks_late=True, soft_time_limit=240, time_limit=300)
def monitoring_sweep_task() -> dict[str, int]:
    """Periodic: evaluate the flows with new labels; write the ground-truth exports due;
    then the other watched streams (a job's automated labels, through ``monitoring_swept``)."""
    evaluated = exported = 0
    for flow_id in flows_to_evaluate():
        flow = Flow.objects.select_related("job").filter(pk=flow_id).first()
        if flow is not None:
            monitoring_evaluate(flow=flow)
            evaluated += 1
    for flow_id in ground_truth_exports_due():
        flow = Flow.objects.filter(pk=flow_id).first()
        if flow is not None:
            ground_truth_export(flow=flow)
            exported += 1
    jobs = sum(
        answer
        for _, answer in monitoring_swept.send(sender=MONITORING_SWEEP_TASK)
        if isinstance(answer, int)
    )
    return {"evaluated": evaluated, "exported": exported, "jobs": jobs}
