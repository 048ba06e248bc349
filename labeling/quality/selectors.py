"""Reads of label quality for the console and the API: estimates, workers, hot spots."""

from django.db.models import Count, Sum

from labeling.models import (
    Annotation,
    ConsolidatedLabel,
    GoldItem,
    ItemEvent,
    Job,
    JobQualityEstimate,
    WorkerQuality,
)
from labeling.quality.math.shape_reliability import stop_similarity
from labeling.quality.services.reliability import FIXED_METHODS
from labeling.quality.services.reliability_shapes import shapes_weighted
from labeling.task_types import get_task_type

HOT_SPOTS_LIMIT = 50


def job_quality_estimate(*, job: Job) -> JobQualityEstimate | None:
    return JobQualityEstimate.objects.filter(job_id=job.pk).first()


def job_worker_quality(*, job: Job) -> list[dict]:
    rows = (
        WorkerQuality.objects.filter(job_id=job.pk)
        .select_related("worker")
        .order_by("estimated_accuracy", "worker__username")
    )
    return [
        {
            "worker_id": row.worker_id,
            "username": row.worker.username,
            "answers": row.answers,
            "estimated_accuracy": row.estimated_accuracy,
            "confusion": row.confusion,
            "label_reliability": row.label_reliability,
            "agreement": row.agreement,
            "gold_answers": row.gold_answers,
            "gold_correct": row.gold_correct,
            "gold_accuracy": row.gold_accuracy,
            "paused": row.paused,
            "paused_reason": row.paused_reason,
            "shape_reliability": row.shape_reliability,  # issue 19: drawing and span jobs
        }
        for row in rows
    ]


def job_answers_saved(*, job: Job) -> dict[str, int]:
    """Answers spent on labeled items against what fixed overlap (the maximum) would spend."""
    spent = (
        ConsolidatedLabel.objects.filter(job_id=job.pk, human_annotated=True)
        .exclude(method="gold")
        .aggregate(items=Count("id"), answers=Sum("answers_count"))
    )
    items, answers = spent["items"] or 0, spent["answers"] or 0
    fixed = items * job.workers_per_item
    return {
        "items_labeled": items,
        "answers_spent": answers,
        "answers_at_fixed_overlap": fixed,
        "answers_saved": max(fixed - answers, 0),
    }


def job_hot_spots(*, job: Job, limit: int = HOT_SPOTS_LIMIT) -> list[dict]:
    """The labeled items with the lowest confidence: where workers disagree most."""
    rows = (
        ConsolidatedLabel.objects.filter(job_id=job.pk)
        .exclude(method__in=FIXED_METHODS)
        .select_related("item")
        .order_by("confidence", "item_id")[:limit]
    )
    return [
        {
            "item_id": row.item_id,
            "data": row.item.data,
            "label": row.label,
            "confidence": row.confidence,
            "method": row.method,
            "answers": row.answers_count,
        }
        for row in rows
    ]


def job_gold_count(*, job: Job) -> int:
    return GoldItem.objects.filter(job_id=job.pk).count()


REVIEW_OUTCOMES = ("review_accepted", "review_fixed", "review_rejected")


def job_worker_review_acceptance(*, job: Job) -> dict[int, dict[str, float | int]]:
    """Per worker, how many of the reviewed items they answered a reviewer accepted as they
    were (issue 14): the last review of each item counts, fixed and rejected ones do not."""
    last: dict[int, str] = {}
    events = (
        ItemEvent.objects.filter(job_id=job.pk, kind__in=REVIEW_OUTCOMES)
        .order_by("at", "id")
        .values_list("item_id", "kind")
    )
    for item_id, kind in events.iterator():
        last[item_id] = kind
    if not last:
        return {}
    tally: dict[int, dict[str, float | int]] = {}
    answers = Annotation.objects.filter(job_id=job.pk, item_id__in=list(last)).values_list(
        "worker_id", "item_id"
    )
    for worker_id, item_id in answers.iterator():
        row = tally.setdefault(worker_id, {"reviewed": 0, "accepted": 0})
        row["reviewed"] += 1
        row["accepted"] += int(last[item_id] == "review_accepted")
    for row in tally.values():
        row["rate"] = row["accepted"] / row["reviewed"]
    return tally


def job_shape_quality(*, job: Job) -> dict | None:
    """Issue 19: for a drawing or span job, how its consolidation and adaptive overlap use the
    workers' reliability (``WorkerQuality.shape_reliability``); None for other task types."""
    kind = get_task_type(job.task_type)
    if not shapes_weighted(kind):
        return None
    estimated = WorkerQuality.objects.filter(job_id=job.pk, shape_reliability__isnull=False)
    return {
        "weighted_consolidation": True,
        "workers_estimated": estimated.count(),
        "stop_similarity": stop_similarity(kind.consolidation),
    }
