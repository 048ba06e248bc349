"""Celery tasks of active learning: thin, named, idempotent; the work is in services."""

from celery import shared_task

from active_learning.models import AutoLabeling, TrainingRound
from active_learning.services.audits import audits_evaluate_open
from active_learning.services.monitoring import retrained_version_record
from active_learning.services.rounds import round_request, round_run
from active_learning.states import RoundStatus, RoundTrigger

ROUND_RUN_TASK = "active_learning.round_run"
BUSY_RETRY_SECONDS = 30
BUSY_RETRIES = 40


@shared_task(
    name=ROUND_RUN_TASK,
    bind=True,
    acks_late=True,
    soft_time_limit=55 * 60,
    time_limit=60 * 60,
    max_retries=BUSY_RETRIES,
)
def round_run_task(self, round_id: int) -> str:
    status = round_run(round_id=round_id)
    if status == "busy":  # another worker trains this job now; the round waits its turn
        raise self.retry(countdown=BUSY_RETRY_SECONDS)
    if status == RoundStatus.DONE:
        retrained_version_record(round_id=round_id)
    return status


def enqueue_round(round_id: int) -> None:
    round_run_task.apply_async((round_id,))


def job_check(job_id: int, trigger: str = RoundTrigger.LABELS) -> int | None:
    """Evaluate open audits, recover dead rounds, queue a round if enough labels arrived."""
    audits_evaluate_open(job_id=job_id)
    queued = round_request(job_id=job_id, trigger=trigger, enqueue=enqueue_round)
    return queued.pk if queued else None


def request_round(job_id: int, trigger: str) -> TrainingRound | None:
    """Queue a round now if none is pending (a manager's request); a worker runs it."""
    return round_request(job_id=job_id, trigger=trigger, enqueue=enqueue_round)


@shared_task(name="active_learning.job_check", acks_late=True, time_limit=120)
def job_check_task(job_id: int) -> int | None:
    return job_check(job_id)


@shared_task(name="active_learning.sweep", acks_late=True, time_limit=300)
def sweep_task() -> int:
    """Periodic: the same check for every job with the loop on (catches lost messages)."""
    job_ids = list(AutoLabeling.objects.filter(enabled=True).values_list("job_id", flat=True))
    for job_id in job_ids:
        job_check(job_id, RoundTrigger.SWEEP)
    return len(job_ids)
