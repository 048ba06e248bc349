"""Celery tasks of the labeling app: thin, named, idempotent; the work is in services."""

from celery import shared_task

from labeling.services.after_commit_sweeps import imports_requeue_lost, quality_reestimates_sweep
from labeling.services.assignments import assignments_expire_due
from labeling.services.imports import IMPORT_RUN_TASK, import_run
from labeling.services.jobs import jobs_complete_finished, jobs_stop_expired
from labeling.services.quality import REESTIMATE_TASK, job_quality_reestimate


@shared_task(name=IMPORT_RUN_TASK, acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def import_run_task(import_id: int) -> str:
    run = import_run(import_id=import_id)
    return run.status if run else "missing"


@shared_task(name="labeling.assignments_expire_due", acks_late=True, time_limit=120)
def assignments_expire_due_task() -> dict[str, int]:
    """Periodic: give the slots of leases that ran out back to their items."""
    return {
        "leases_expired": assignments_expire_due(),
        "jobs_stopped": jobs_stop_expired(),
        "jobs_completed": jobs_complete_finished(),
    }


@shared_task(name=REESTIMATE_TASK, acks_late=True, soft_time_limit=10 * 60, time_limit=12 * 60)
def quality_reestimate_task(job_id: int) -> dict[str, object]:
    """Re-run EM over a job's answers; the previous estimates stand until this one commits."""
    estimate = job_quality_reestimate(job_id=job_id)
    if estimate is None:
        return {"job": job_id, "missing": True}
    return {"job": job_id, "method": estimate.method_in_use, "seconds": estimate.seconds}


@shared_task(name="labeling.after_commit_sweep", acks_late=True, time_limit=120)
def after_commit_sweep_task() -> dict[str, int]:
    """Periodic: redo the after-commit work a broker or cache outage lost (re-estimations
    asked for by submits, imports whose message never reached a worker)."""
    return {
        "reestimations": len(quality_reestimates_sweep()),
        "imports": len(imports_requeue_lost()),
    }
