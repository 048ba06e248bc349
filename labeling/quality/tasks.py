"""Celery tasks of label quality: re-estimation and its sweep (thin; the work is in services)."""

from celery import current_app, shared_task

from labeling.quality.services.reliability import REESTIMATE_TASK, quality_reestimate_paced
from labeling.quality.services.sweep import quality_sweep_stale


@shared_task(name=REESTIMATE_TASK, acks_late=True, soft_time_limit=10 * 60, time_limit=12 * 60)
def quality_reestimate_task(job_id: int) -> dict[str, object]:
    """Re-run EM over a job's answers; the previous estimates stand until this one commits.
    Put off while the cooldown after the job's previous (long) run lasts (issue 20)."""
    eager = bool(current_app.conf.task_always_eager)
    estimate, put_off = quality_reestimate_paced(job_id=job_id, eager=eager)
    if put_off:
        return {"job": job_id, "put_off_seconds": round(put_off, 1)}
    if estimate is None:
        return {"job": job_id, "missing": True}
    return {"job": job_id, "method": estimate.method_in_use, "seconds": estimate.seconds}


@shared_task(name="labeling.quality_sweep", acks_late=True, time_limit=300)
def quality_sweep_task() -> int:
    """Periodic: ask again for re-estimations whose run or message was lost."""
    return quality_sweep_stale()
