"""Receivers of the labeling app's events and hooks: new human labels may call for a round;
a task UI of a pre-annotated job shows the model's suggestion.

A receiver runs in the request that labeled the item, after its commit: it only checks that
the job's loop is on and, at most once per debounce window per job, sends a check to a
Celery worker. Nothing is trained here.
"""

from django.conf import settings
from django.core.cache import cache

from active_learning.models import AutoLabeling
from active_learning.selectors import suggestion_for_assignment
from active_learning.services.monitoring import auto_label_alerts_sweep
from active_learning.states import RoundTrigger
from active_learning.tasks import job_check_task, request_round
from labeling.job_probes import job_probe, register_job_probe
from labeling.models import Assignment


def debounce_seconds() -> int:
    return int(getattr(settings, "ACTIVE_LEARNING_CHECK_DEBOUNCE_SECONDS", 5))


# Every consolidated item asks this: a job probe, answered by the submit's first statement
# (labeling/job_probes.py, issue 20).
AUTO_LABELING_PROBE = "active_learning.auto_labeling"
register_job_probe(
    AUTO_LABELING_PROBE,
    f"EXISTS (SELECT 1 FROM {AutoLabeling._meta.db_table} WHERE job_id = {{job}})",
)


def on_item_consolidated(sender, *, job_id: int, **payload) -> None:
    # Not only when on: an audit of a job whose loop was turned off still needs its answers
    # counted; the check itself queues no round for a job whose loop is off.
    if not job_probe(AUTO_LABELING_PROBE, job_id):
        return
    window = debounce_seconds()
    if window and not cache.add(f"active-learning:check:{job_id}", 1, timeout=window):
        return
    job_check_task.apply_async((job_id,), countdown=window or None)


def task_suggestion(assignment: Assignment) -> dict:
    """Adds ``task.suggestion`` ({label, confidence}) to a task UI of a pre-annotated job."""
    suggestion = suggestion_for_assignment(assignment=assignment)
    return {"suggestion": suggestion} if suggestion else {}


def on_retrain_requested(sender, *, job_id: int, **payload) -> None:
    """Model-quality monitoring asks to retrain the model of a flow's dataset job: a round is
    queued now if the job's automated labeling is on (a worker trains it; its validation
    metrics become the new version's baseline)."""
    if AutoLabeling.objects.filter(job_id=job_id, enabled=True).exists():
        request_round(job_id, RoundTrigger.MANUAL)


def on_monitoring_swept(sender, **payload) -> int:
    """The monitoring sweep: the jobs' automated labels over their audits are evaluated too
    (stored alerts, webhooks, cleared on recovery)."""
    return auto_label_alerts_sweep()
