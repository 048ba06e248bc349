"""Worker reliability on drawing and span jobs (issue 19): its re-estimation, and what the
submit path reads back (each answer's weight in consolidation, adaptive overlap's agreement).

The re-estimation runs inside ``labeling.quality_reestimate`` (the same debounced Celery task
as classification's EM): it reads the job's latest answers, scores every answer against its
item's other answers consolidated without it by the task type's own strategy and compared by
the task type's ``answer_similarity`` (``labeling/quality/math/shape_reliability.py``), and
stores each worker's reliability in ``WorkerQuality.shape_reliability``. A submit reads only
the reliabilities of the item's workers (one small query) to weight its consolidation.
"""

import json
from collections import Counter, defaultdict
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from labeling.consolidation.masks import vote_label_maps
from labeling.consolidation.similarity import label_map_similarity
from labeling.models import (
    Annotation,
    ConsolidationMethod,
    Item,
    Job,
    JobQualityEstimate,
    WorkerQuality,
)
from labeling.quality.math.shape_reliability import (
    ItemAnswers,
    ShapeReliability,
    answers_agreement,
    leave_one_out_reliability,
    reliability_weights,
)
from labeling.quality.services.store import UPDATE_BATCH_SIZE, store_estimate
from labeling.task_types.base import answers_compared, is_structured
from labeling.task_types.image_segmentation import load_label_map

# The job's latest answers one re-estimation reads (bounded work: every answer costs one
# consolidation of its item's other answers and one comparison per round, about 4 ms for boxes
# and 5 ms for spans over the two rounds on the shared 2-core machine, so ≈ 20-25 s a run).
SHAPE_FIT_ANSWERS = 5_000
# Semantic segmentation consolidates by writing PNG files; its leave-one-out votes run on the
# label maps directly (the same vote, ``vote_label_maps``), writing nothing, over fewer of the
# latest answers (each is a PNG to read).
PIXEL_VOTE = "pixel-vote"
LABEL_MAP_FIT_ANSWERS = 4_000


def shapes_weighted(kind: Any) -> bool:
    """Whether a task type takes part: it consolidates itself with per-answer weights and
    can score how alike two answers are."""
    return (
        is_structured(kind)
        and bool(getattr(kind, "weighted_by_reliability", False))
        and answers_compared(kind)
    )


def _gather(job: Job, limit: int) -> list[tuple[int, int, dict]]:
    """(item id, worker id, answer) of the job's latest ``limit`` answers, oldest first, gold
    items and excluded workers left out."""
    rows = Annotation.objects.filter(job_id=job.pk).exclude(item__gold__isnull=False)
    if job.exclude_paused_answers:
        paused = WorkerQuality.objects.filter(job_id=job.pk, paused=True).values("worker_id")
        rows = rows.exclude(worker_id__in=paused)
    latest = rows.order_by("-id").values_list("item_id", "worker_id", "answer")
    return list(latest[:limit])[::-1]


def _items(kind: Any, job: Job, rows: list[tuple[int, int, dict]], dense: dict[int, int]):
    """The items with at least two answers as ``ItemAnswers``, and the two callables."""
    by_item: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for item_id, worker_id, answer in rows:
        by_item[item_id].append((dense[worker_id], answer))
    shared = {item_id: answers for item_id, answers in by_item.items() if len(answers) >= 2}
    labels = list(job.labels)
    if kind.consolidation == PIXEL_VOTE:
        return _label_map_items(shared, labels)
    data = dict(Item.objects.filter(pk__in=list(shared)).values_list("id", "data"))
    items = [
        ItemAnswers(
            [w for w, _ in answers],
            [a for _, a in answers],
            json.loads(data[item_id]) if isinstance(data[item_id], str) else data[item_id],
        )
        for item_id, answers in shared.items()
    ]

    def consolidate(item_data, answers, weights):
        extra = {} if weights is None else {"weights": weights.tolist()}
        return kind.consolidate_answers(answers, labels, item_data=item_data, **extra).value

    def similarity(item_data, answer, value):
        return kind.answer_similarity(answer, value, labels, item_data=item_data)

    return items, consolidate, similarity


def _label_map_items(shared: dict[int, list[tuple[int, dict]]], labels: list[str]):
    """Label maps are read one item at a time (a job's maps would not fit in memory at once):
    an item's answers are their stored refs, and the maps of the item in hand are kept."""
    items = []
    for answers in shared.values():
        inners = [(w, next(iter(a.values()))) for w, a in answers]
        # The most common declared size, as the consolidation picks it (a map's size is the
        # one its answer declares: the submit checks it).
        sizes = Counter(_declared_size(inner) for _, inner in inners)
        size = max(sizes, key=lambda s: (sizes[s], s))
        kept = [
            (w, inner["labeledImage"]["ref"])
            for w, inner in inners
            if _declared_size(inner) == size
        ]
        if len(kept) >= 2:
            refs = tuple(ref for _, ref in kept)
            items.append(ItemAnswers([w for w, _ in kept], list(range(len(kept))), refs))
    held: dict[tuple, list[np.ndarray]] = {}

    def maps_of(refs: tuple) -> list[np.ndarray]:
        if refs not in held:
            held.clear()
            held[refs] = [load_label_map(ref) for ref in refs]
        return held[refs]

    def consolidate(refs, indices, weights):
        maps = maps_of(refs)
        return vote_label_maps([maps[i] for i in indices], len(labels), weights)[0]

    def similarity(refs, index, voted):
        return label_map_similarity(maps_of(refs)[index], voted, len(labels))

    return items, consolidate, similarity


def _declared_size(inner: dict) -> tuple[int, int]:
    size = inner.get("inputImageProperties") or {}
    return int(size.get("height", 0)), int(size.get("width", 0))


def shapes_reestimate(job: Job, kind: Any, started: float) -> JobQualityEstimate:
    """Re-estimate every worker's reliability on a drawing or span job and store it."""
    limit = LABEL_MAP_FIT_ANSWERS if kind.consolidation == PIXEL_VOTE else SHAPE_FIT_ANSWERS
    rows = _gather(job, limit)
    worker_ids = np.unique(np.array([w for _, w, _ in rows], dtype=np.int64))
    dense = {int(w): index for index, w in enumerate(worker_ids)}
    items, consolidate, similarity = _items(kind, job, rows, dense)
    result = leave_one_out_reliability(
        items, n_workers=len(worker_ids), consolidate=consolidate, similarity=similarity
    )
    answered = np.bincount([dense[w] for _, w, _ in rows], minlength=len(worker_ids))
    per_item = np.array(list(Counter(item_id for item_id, _, _ in rows).values()), dtype=np.int64)
    with transaction.atomic():
        Job.objects.select_for_update(no_key=True).filter(pk=job.pk).values_list("pk").first()
        estimate = store_estimate(
            job,
            method=ConsolidationMethod.MAJORITY,
            priors=np.zeros(0),
            answers_used=len(rows),
            per_item=per_item,
            workers=len(worker_ids),
            alpha=np.nan,
            kappa=np.nan,
            per_label=[np.nan] * len(job.labels),
            labels_changed=0,
            iterations=result.rounds,
            warm_start=False,
            started=started,
        )
        _store_workers(job, worker_ids, answered, result)
    return estimate


def _rounded(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 6)


def _store_workers(
    job: Job, worker_ids: np.ndarray, answered: np.ndarray, result: ShapeReliability
) -> None:
    now = timezone.now()
    rows = [
        WorkerQuality(
            job_id=job.pk,
            worker_id=int(worker_id),
            answers=int(answered[index]),
            shape_reliability=_rounded(result.reliability[index]),
            agreement=_rounded(result.agreement[index]),
            estimated_at=now,
        )
        for index, worker_id in enumerate(worker_ids)
    ]
    WorkerQuality.objects.bulk_create(
        rows,
        batch_size=UPDATE_BATCH_SIZE,
        update_conflicts=True,
        unique_fields=["job", "worker"],
        update_fields=["answers", "shape_reliability", "agreement", "estimated_at"],
    )


# --- What the submit path reads --------------------------------------------------------------


def shape_answer_weights(*, job_id: int, worker_ids: list[int]) -> list[float] | None:
    """Per answer (its worker), the weight the stored reliability gives it; None when none of
    these workers has one (the plain, unweighted consolidation). A worker not estimated yet
    counts as the mean of the others here. One query."""
    stored = dict(
        WorkerQuality.objects.filter(
            job_id=job_id, worker_id__in=set(worker_ids), shape_reliability__isnull=False
        ).values_list("worker_id", "shape_reliability")
    )
    if not stored:
        return None
    fallback = float(np.mean(list(stored.values())))
    return reliability_weights([stored.get(w, fallback) for w in worker_ids]).tolist()


def shape_item_agreement(*, job_id: int, item_id: int, kind: Any, labels: list[str]) -> float:
    """How much an item's answers agree: the weighted mean of their pairwise similarities
    under the workers' stored reliabilities (adaptive overlap's stop rule). Two queries."""
    rows = list(
        Annotation.objects.filter(item_id=item_id).order_by("id").values_list("answer", "worker_id")
    )
    answers = [answer for answer, _ in rows]
    weights = shape_answer_weights(job_id=job_id, worker_ids=[w for _, w in rows])
    k = len(answers)
    similarities = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            score = kind.answer_similarity(answers[i], answers[j], labels)
            similarities[i, j] = similarities[j, i] = score
    return answers_agreement(similarities, None if weights is None else np.array(weights))
