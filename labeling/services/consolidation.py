"""Writing consolidated labels: gather an item's answers, run the job's strategy, store it."""

from labeling.consolidation.base import MISSING
from labeling.events import item_consolidated, publish_on_commit
from labeling.models import ConsolidatedLabel, Item
from labeling.services.quality import item_score
from labeling.states import ItemStatus


def item_consolidate(
    *, item_id: int, job_id: int, task_type: str, labels: list[str]
) -> ConsolidatedLabel:
    """Consolidate an item that has all its answers (inside the caller's transaction)."""
    # issue 5: the job's method (majority, or EM with the stored worker estimates)
    winner, confidence, method, answers_count = item_score(
        job_id=job_id, item_id=item_id, labels=labels
    )
    label = labels[winner] if winner != MISSING else ""
    consolidated = ConsolidatedLabel.objects.create(
        item_id=item_id,
        job_id=job_id,
        value={"label": label, "class_id": winner},
        label=label,
        confidence=round(confidence, 6),
        method=method,
        human_annotated=True,
        answers_count=answers_count,
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
