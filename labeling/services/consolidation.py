"""Writing consolidated labels: gather an item's answers, run the job's strategy, store it."""

import json
from typing import Any

import numpy as np

from labeling.consolidation import get_strategy
from labeling.consolidation.base import MISSING
from labeling.events import item_consolidated, publish_on_commit
from labeling.models import Annotation, ConsolidatedLabel, Item
from labeling.states import ItemStatus
from labeling.task_types import get_task_type


def item_consolidate(
    *, item_id: int, job_id: int, task_type: str, labels: list[str]
) -> ConsolidatedLabel:
    """Consolidate an item that has all its answers (inside the caller's transaction)."""
    kind = get_task_type(task_type)
    if hasattr(kind, "consolidate_answers"):  # task types whose answer is not one class
        return _consolidate_whole_answers(item_id=item_id, job_id=job_id, kind=kind, labels=labels)
    strategy = get_strategy(kind.consolidation)
    answers = list(
        Annotation.objects.filter(item_id=item_id).order_by("id").values_list("label", "worker_id")
    )
    class_index = {label: index for index, label in enumerate(labels)}
    votes = np.array([[class_index.get(label, MISSING) for label, _ in answers]], dtype=np.int64)
    workers = np.array([[worker for _, worker in answers]], dtype=np.int64)
    winners, confidences = strategy.consolidate(votes, len(labels), workers)
    winner = int(winners[0])
    label = labels[winner] if winner != MISSING else ""
    consolidated = ConsolidatedLabel.objects.create(
        item_id=item_id,
        job_id=job_id,
        value={"label": label, "class_id": winner},
        label=label,
        confidence=round(float(confidences[0]), 6),
        method=strategy.name,
        human_annotated=True,
        answers_count=len(answers),
    )
    Item.objects.filter(pk=item_id).update(status=ItemStatus.LABELED)
    publish_on_commit(
        item_consolidated,
        job_id=job_id,
        item_id=item_id,
        label=label,
        confidence=consolidated.confidence,
    )
    return consolidated


def _consolidate_whole_answers(
    *, item_id: int, job_id: int, kind: Any, labels: list[str]
) -> ConsolidatedLabel:
    answers = list(
        Annotation.objects.filter(item_id=item_id).order_by("id").values_list("answer", flat=True)
    )
    item_data = json.loads(Item.objects.values_list("data", flat=True).get(pk=item_id))
    result = kind.consolidate_answers(answers, labels, item_data=item_data)
    consolidated = ConsolidatedLabel.objects.create(
        item_id=item_id,
        job_id=job_id,
        value=result.value,
        label=result.label,
        confidence=result.confidence,
        method=result.method,
        human_annotated=True,
        answers_count=len(answers),
    )
    Item.objects.filter(pk=item_id).update(status=ItemStatus.LABELED)
    publish_on_commit(
        item_consolidated,
        job_id=job_id,
        item_id=item_id,
        label=result.label,
        confidence=consolidated.confidence,
    )
    return consolidated
