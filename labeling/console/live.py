"""The data manager's live figures: a job's snapshot, shared by every viewer.

A job's snapshot is computed at most once per LIVE_SECONDS, whoever and however many watch:
the first viewer past that age takes a short lock and computes it from the counter shards
(a handful of rows), one indexed count of live leases and the job's latest answers; every
other viewer is served the cached one. Its cost does not grow with the job's size, and the
load of many viewers is one such computation per job per LIVE_SECONDS.
"""

import logging
import time
from typing import Any

from django.core.cache import cache

from labeling.models import Annotation, Job, JobQualityEstimate
from labeling.selectors import job_counts

logger = logging.getLogger(__name__)

LIVE_SECONDS = 2.0
LIVE_RECENT_ANSWERS = 8
_LIVE_KEY = "quorum:live:v1:{job_id}"


def _live_compute(job: Job) -> dict[str, Any]:
    counts = job_counts(job=job)
    recent = list(
        Annotation.objects.filter(job_id=job.pk)
        .order_by("-submitted_at")
        .values("item_id", "label", "submitted_at", "worker__username")[:LIVE_RECENT_ANSWERS]
    )
    estimated_at = (
        JobQualityEstimate.objects.filter(job_id=job.pk)
        .values_list("computed_at", flat=True)
        .first()
    )
    status = Job.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    return {
        "job_id": job.pk,
        "status": status,
        **counts,
        "quality_estimated_at": estimated_at.isoformat() if estimated_at else None,
        "recent_answers": [
            {
                "item_id": row["item_id"],
                "label": row["label"],
                "worker": row["worker__username"],
                "submitted_at": row["submitted_at"].isoformat(),
            }
            for row in recent
        ],
        "computed_at": time.time(),
    }


def job_live_snapshot(*, job: Job) -> dict[str, Any]:
    """The job's live figures, at most LIVE_SECONDS old, shared by every viewer."""
    key = _LIVE_KEY.format(job_id=job.pk)
    try:
        cached = cache.get(key)
        if cached is not None and time.time() - cached["computed_at"] < LIVE_SECONDS:
            return cached
        if cached is not None and not cache.add(f"{key}:lock", 1, timeout=int(LIVE_SECONDS) + 1):
            return cached  # another viewer is computing it now
    except Exception:  # noqa: BLE001 - no cache: compute for this viewer, never fail the page
        logger.warning("the live snapshot cache is unavailable", exc_info=True)
        return _live_compute(job)
    snapshot = _live_compute(job)
    try:
        cache.set(key, snapshot, timeout=int(LIVE_SECONDS * 30))
        cache.delete(f"{key}:lock")
    except Exception:  # noqa: BLE001
        logger.warning("the live snapshot cache is unavailable", exc_info=True)
    return snapshot
