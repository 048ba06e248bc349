"""The backstop of re-estimation: jobs answered since their last estimate are asked again.

A re-estimation computes in memory and writes in one transaction at the end, so a worker that
dies during it writes nothing and the previous estimates stand. But its request is gone: the
debounce key only lets the next answer ask again, and after a job's last answers there is no
next answer. This sweep asks again for every job with answers newer than its estimate (or,
without one, with a human label) once those answers have settled.
"""

from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from labeling.models import Annotation, ConsolidatedLabel, Job
from labeling.quality.services.reliability import quality_request_reestimate

# Longer than a debounced request takes to run, so the sweep only picks up lost ones.
SETTLED_AFTER = timedelta(minutes=5)
SWEEP_BATCH_SIZE = 200


def quality_sweep_stale(*, now: datetime | None = None) -> int:
    """Request a re-estimation of each job whose estimate is older than its settled answers."""
    now = now or timezone.now()
    last_answer = (
        Annotation.objects.filter(job_id=OuterRef("pk"))
        .order_by("-submitted_at")
        .values("submitted_at")[:1]
    )
    human_label = ConsolidatedLabel.objects.filter(job_id=OuterRef("pk"), human_annotated=True)
    stale = (
        Job.objects.annotate(last_answer=Subquery(last_answer))
        .filter(last_answer__lt=now - SETTLED_AFTER)
        .filter(
            Q(quality_estimate__computed_at__lt=F("last_answer"))
            | Q(quality_estimate__isnull=True) & Exists(human_label)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH_SIZE]
    )
    job_ids = list(stale)
    for job_id in job_ids:
        quality_request_reestimate(job_id=job_id)
    return len(job_ids)
