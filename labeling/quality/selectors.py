"""Reads of label quality for the console and the API: estimates, workers, hot spots, and
agreement on drawing and span jobs."""

import math

from django.db.models import Count, Sum

from labeling.models import (
    Annotation,
    ConsolidatedLabel,
    GoldItem,
    ItemEvent,
    Job,
    JobQualityEstimate,
    User,
    WorkerQuality,
)
from labeling.quality.math.shape_agreement import MAX_EXPECTED_PAIRS, shape_agreement
from labeling.quality.math.shape_reliability import stop_similarity
from labeling.quality.services.gold_shapes import scored_by_similarity
from labeling.quality.services.reliability import FIXED_METHODS
from labeling.quality.services.reliability_shapes import shapes_weighted
from labeling.task_types import get_task_type
from labeling.task_types.compared import label_maps_cached, similarity_measure

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
            "gold_mean_score": row.gold_mean_score,
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


# --- Drawing and span jobs (issue 19) ---------------------------------------------------------
# Agreement is computed when read, over the most recent items with two answers or more.
SHAPE_AGREEMENT_ITEMS = 300
SHAPE_AGREEMENT_LOWEST = 10
# Types whose one comparison costs milliseconds (rasterised polygons, label maps read from
# disk, dense tracks: bench/answer_similarity.py) read fewer items and chance pairs.
HEAVY_COMPARISONS = {"image-polygon", "image-semantic-segmentation", "video-object-tracking"}
SHAPE_AGREEMENT_ITEMS_HEAVY = 100
SHAPE_EXPECTED_PAIRS_HEAVY = 300


def job_shape_agreement(*, job: Job) -> dict | None:
    """Agreement between workers on a drawing or span job, by the task type's similarity:
    Krippendorff's alpha with d = 1 − similarity, the pairwise distribution, per worker the
    mean similarity with the others, and the items with the least agreement. None for a job
    whose task type does not compare answers (classification has its own figures)."""
    task_type = get_task_type(job.task_type)
    if not scored_by_similarity(task_type):
        return None
    heavy = task_type.key in HEAVY_COMPARISONS
    limit = SHAPE_AGREEMENT_ITEMS_HEAVY if heavy else SHAPE_AGREEMENT_ITEMS
    item_ids = list(
        Annotation.objects.filter(job_id=job.pk)
        .values("item_id")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .order_by("-item_id")
        .values_list("item_id", flat=True)[:limit]
    )
    grouped: dict[int, list[tuple[int, dict]]] = {item_id: [] for item_id in item_ids}
    rows = (
        Annotation.objects.filter(job_id=job.pk, item_id__in=item_ids)
        .order_by("item_id", "id")
        .values_list("item_id", "worker_id", "answer")
    )
    for item_id, worker_id, answer in rows.iterator():
        grouped[item_id].append((worker_id, answer))
    labels = list(job.labels)

    def compare(a: dict, b: dict) -> float:
        return task_type.answer_similarity(a, b, labels)

    with label_maps_cached():
        result = shape_agreement(
            sorted(grouped.items()),
            compare,
            max_expected_pairs=SHAPE_EXPECTED_PAIRS_HEAVY if heavy else MAX_EXPECTED_PAIRS,
        )
    names = dict(
        WorkerQuality.objects.filter(job_id=job.pk).values_list("worker_id", "worker__username")
    )
    missing = set(result.per_worker) - set(names)
    if missing:
        names.update(User.objects.filter(pk__in=missing).values_list("pk", "username"))
    lowest = sorted(result.per_item.items(), key=lambda pair: (pair[1], pair[0]))

    def number(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 4)

    return {
        "measure": similarity_measure(task_type),
        "distance": "1 − similarity",
        "alpha": number(result.alpha),
        "observed_disagreement": number(result.observed_disagreement),
        "expected_disagreement": number(result.expected_disagreement),
        "items": result.items,
        "pairs": result.pairs,
        "mean_similarity": number(result.mean_similarity),
        "quantiles": {name: round(value, 4) for name, value in result.quantiles.items()},
        "histogram": result.histogram,
        "workers": sorted(
            (
                {
                    "worker_id": worker_id,
                    "username": names.get(worker_id, ""),
                    "mean_similarity": round(mean, 4),
                    "pairs": pairs,
                }
                for worker_id, (mean, pairs) in result.per_worker.items()
            ),
            key=lambda row: (row["mean_similarity"], row["username"]),
        ),
        "lowest_items": [
            {"item_id": item_id, "mean_similarity": round(mean, 4)}
            for item_id, mean in lowest[:SHAPE_AGREEMENT_LOWEST]
        ],
    }


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
