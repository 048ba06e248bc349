"""Writing a re-estimation's results: the job's estimate row and one row per worker.

Single-label (``services/quality.py``) and multi-label (``services/quality_multilabel.py``)
re-estimations store the same fields; each passes what its model adds (confusion matrices,
per-label reliability).
"""

import time
from typing import Any

import numpy as np
from django.utils import timezone

from labeling.models import Job, JobQualityEstimate, WorkerQuality

# A re-estimation rewrites a label when its winner or its method changes, or when its
# confidence moves by more than this (issue 20). The estimates drift a little with every
# answer; rewriting every labeled item for a drift no one sees made each run write as many
# rows as the job had labels (none of them a HOT update: the confidence is indexed), so a job
# got dearer per answer as it grew. A stored confidence stays within this of the latest
# estimate.
CONFIDENCE_REWRITE_TOLERANCE = 0.005

UPDATE_BATCH_SIZE = 2000


def _rounded(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)


def store_estimate(
    job: Job,
    *,
    method: str,
    priors: np.ndarray,
    answers_used: int,
    per_item: np.ndarray,
    workers: int,
    alpha: float,
    kappa: float,
    per_label: list[float] | np.ndarray,
    labels_changed: int,
    iterations: int,
    warm_start: bool,
    started: float,
) -> JobQualityEstimate:
    """Replace the job's estimate (inside the re-estimation's transaction)."""
    estimate, _ = JobQualityEstimate.objects.update_or_create(
        job=job,
        defaults={
            "method_in_use": method,
            "priors": [round(float(p), 6) for p in priors],
            "answers_used": int(answers_used),
            "overlapping_items": int((per_item >= 2).sum()),
            "workers": workers,
            "alpha": _rounded(alpha),
            "kappa": _rounded(kappa),
            "per_label": {
                label: _rounded(value) for label, value in zip(job.labels, per_label, strict=True)
            },
            "labels_changed": labels_changed,
            "iterations": iterations,
            "warm_start": warm_start,
            "seconds": round(time.perf_counter() - started, 4),
            "computed_at": timezone.now(),
        },
    )
    return estimate


def store_workers(
    job: Job,
    worker_ids: np.ndarray,
    *,
    answered: np.ndarray,
    accuracy: np.ndarray,
    agreement: np.ndarray,
    per_worker: dict[str, list[Any]],
) -> None:
    """Upsert one WorkerQuality row per worker; ``per_worker`` maps a model's own fields
    (``confusion``, ``label_reliability``) to one value per worker."""
    now = timezone.now()
    rows = [
        WorkerQuality(
            job_id=job.pk,
            worker_id=int(worker_id),
            answers=int(answered[index]),
            estimated_accuracy=round(float(accuracy[index]), 6),
            agreement=_rounded(agreement[index]),
            estimated_at=now,
            **{field: values[index] for field, values in per_worker.items()},
        )
        for index, worker_id in enumerate(worker_ids)
    ]
    WorkerQuality.objects.bulk_create(
        rows,
        batch_size=UPDATE_BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["job", "worker"],
        update_fields=["answers", "estimated_accuracy", *per_worker, "agreement", "estimated_at"],
    )
