"""Celery tasks of the control plane: thin, named, idempotent; the work is in services."""

from celery import shared_task

from control_plane.services.flow_definitions import (
    FLOW_DEFINITION_ACTIVATE_TASK,
    flow_definition_activate,
    flow_definitions_activate_pending,
)
from control_plane.services.labeling_jobs import (
    LABELING_JOB_IMPORT_TASK,
    control_plane_sweep,
    labeling_job_import,
)


@shared_task(name=LABELING_JOB_IMPORT_TASK, acks_late=True, soft_time_limit=3600, time_limit=3700)
def labeling_job_import_task(spec_id: int) -> str:
    """Stage a labeling job's manifest from storage and queue its import."""
    spec = labeling_job_import(spec_id=spec_id)
    if spec is None:
        return "gone"
    return spec.failure_reason or f"import {spec.import_run_id}"


@shared_task(name=FLOW_DEFINITION_ACTIVATE_TASK, acks_late=True, time_limit=60)
def flow_definition_activate_task(flow_id: int) -> bool:
    return flow_definition_activate(flow_id=flow_id)


@shared_task(name="control_plane.sweep", acks_late=True, time_limit=300)
def control_plane_sweep_task() -> dict[str, int]:
    """Periodic: redo what lost messages and events left undone."""
    return {**control_plane_sweep(), "flows_activated": flow_definitions_activate_pending()}
