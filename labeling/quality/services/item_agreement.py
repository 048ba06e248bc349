"""An item's agreement on drawing and span jobs, as the data manager sorts and filters it:
the mean pairwise similarity of its answers, stored in ``ConsolidatedLabel.agreement`` when the
item is consolidated (``labeling/services/consolidation.py``) and, for labels consolidated
before it was stored, written by ``manage.py item_agreement_backfill``."""

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from labeling.models import Annotation, ConsolidatedLabel, Item, Job
from labeling.quality.services.gold_shapes import scored_by_similarity
from labeling.quality.services.scoring import excluded_workers
from labeling.task_types import get_task_type

# Labels one backfill batch reads (their answers and item data in two queries) and writes.
BACKFILL_BATCH = 500


def answers_mean_similarity(
    *, kind: Any, answers: list[dict], labels: list[str], item_data: Any = None
) -> float | None:
    """The plain mean of an item's answers' pairwise similarities by the task type's
    ``answer_similarity``: C(k, 2) comparisons and nothing else read; None for fewer than two
    answers. Unweighted (unlike ``shape_item_agreement``, adaptive overlap's): it describes
    the answers, so it does not move when the workers' reliabilities are re-estimated."""
    k = len(answers)
    if k < 2:
        return None
    scores = [
        kind.answer_similarity(answers[i], answers[j], labels, item_data=item_data)
        for i in range(k)
        for j in range(i + 1, k)
    ]
    return round(min(1.0, max(0.0, float(np.mean(scores)))), 6)


def item_agreement_of(kind: Any, answers: list[dict], labels: list[str], item_data: Any):
    """The agreement stored for a label of ``kind``: None unless its answers are scored by
    similarity (drawing and span task types)."""
    if not scored_by_similarity(kind):
        return None
    return answers_mean_similarity(kind=kind, answers=answers, labels=labels, item_data=item_data)


def item_agreement_backfill(
    *, job_id: int | None = None, batch: int = BACKFILL_BATCH, report: Callable | None = None
) -> int:
    """Store the agreement of the human-consolidated labels of drawing and span jobs that have
    none (consolidated before it was stored), batch by batch in label id order; returns how
    many it wrote. The answers are those the job counts now (a paused worker's left out where
    the job leaves them out). Labels whose item has fewer than two such answers stay null."""
    jobs = Job.objects.order_by("id")
    if job_id is not None:
        jobs = jobs.filter(pk=job_id)
    written = 0
    for job in jobs.only("id", "task_type", "labels"):
        kind = get_task_type(job.task_type)
        if not scored_by_similarity(kind):
            continue
        done = _backfill_job(job, kind, batch)
        written += done
        if report is not None:
            report(job, done)
    return written


def _backfill_job(job: Job, kind: Any, batch: int) -> int:
    labels, excluded = list(job.labels), excluded_workers(job.pk)
    pending = ConsolidatedLabel.objects.filter(
        job_id=job.pk, human_annotated=True, agreement__isnull=True
    )
    written, after = 0, 0
    while True:
        rows = list(
            pending.filter(pk__gt=after).order_by("pk").values_list("pk", "item_id")[:batch]
        )
        if not rows:
            return written
        after = rows[-1][0]
        item_ids = [item_id for _, item_id in rows]
        answers: dict[int, list[dict]] = defaultdict(list)
        given = Annotation.objects.filter(item_id__in=item_ids).order_by("item_id", "id")
        for item_id, worker_id, answer in given.values_list("item_id", "worker_id", "answer"):
            if worker_id not in excluded:
                answers[item_id].append(answer)
        several = [item_id for item_id in item_ids if len(answers[item_id]) >= 2]
        data = dict(Item.objects.filter(pk__in=several).values_list("id", "data"))
        changed = []
        for pk, item_id in rows:
            if item_id not in data:
                continue
            item_data = data[item_id]
            item_data = json.loads(item_data) if isinstance(item_data, str) else item_data
            value = item_agreement_of(kind, answers[item_id], labels, item_data)
            if value is not None:
                changed.append(ConsolidatedLabel(pk=pk, agreement=value))
        ConsolidatedLabel.objects.bulk_update(changed, ["agreement"])
        written += len(changed)
