"""Writing consolidated labels: gather an item's answers, run the job's strategy, store it."""

import numpy as np

from labeling.consolidation import get_strategy
from labeling.consolidation.base import MISSING
from labeling.events import item_consolidated, publish_on_commit
from labeling.models import Annotation, ConsolidatedLabel, Item, Job
from labeling.states import ItemStatus
from labeling.task_types import get_task_type


def item_consolidate(*, item: Item, job: Job) -> ConsolidatedLabel:
    """Consolidate an item that has all its answers (inside the caller's transaction)."""
    task_type = get_task_type(job.task_type)
    strategy = get_strategy(task_type.consolidation)
    answers = list(
        Annotation.objects.filter(item_id=item.pk).order_by("id").values_list("label", "worker_id")
    )
    class_index = {label: index for index, label in enumerate(job.labels)}
    votes = np.array([[class_index.get(label, MISSING) for label, _ in answers]], dtype=np.int64)
    workers = np.array([[worker for _, worker in answers]], dtype=np.int64)
    winners, confidences = strategy.consolidate(votes, len(job.labels), workers)
    winner = int(winners[0])
    label = job.labels[winner] if winner != MISSING else ""
    consolidated = ConsolidatedLabel.objects.create(
        item_id=item.pk,
        job_id=job.pk,
        value={"label": label, "class_id": winner},
        label=label,
        confidence=round(float(confidences[0]), 6),
        method=strategy.name,
        human_annotated=True,
        answers_count=len(answers),
    )
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.LABELED)
    item.status = ItemStatus.LABELED
    publish_on_commit(
        item_consolidated,
        job_id=job.pk,
        item_id=item.pk,
        label=label,
        confidence=consolidated.confidence,
    )
    return consolidated
