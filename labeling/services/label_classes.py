"""Which labels each consolidated value holds, for task types whose value holds several.

Every writer of a ``ConsolidatedLabel``'s value calls one of these in its own transaction, so
the job page's per-label counts, the data manager's label filter and its label sort (which read
``ConsolidatedLabelClass`` by its (job, label, item) indexes) never disagree with the value.
Task types whose value is one class write nothing here and spend no query. A value's first
label (code-point order) is marked ``first``; a value that holds none has one row,
``NO_LABEL`` (marked first), so that every such label has exactly one first row.
"""

from collections.abc import Iterable

from labeling.models import ConsolidatedLabel, ConsolidatedLabelClass
from labeling.task_types import get_task_type
from labeling.task_types.base import holds_several_labels, labels_in_value

# Labels rewritten per statement when many change at once (a re-estimation).
CLASSES_BATCH = 2000
# The one row of a value that holds no label (no box, an empty set): the label sort finds it
# there, as the empty label; no job has this label, so the counts and the filter never read it.
NO_LABEL = ConsolidatedLabelClass.NO_LABEL


def consolidated_classes_write(
    *, task_type: str, consolidated: Iterable[ConsolidatedLabel], replace: bool = True
) -> int:
    """Store the labels that each (saved) consolidated label's value contains; ``replace``
    drops what was stored for them before (not needed for labels just inserted). Returns the
    rows written; nothing is read or written for single-label task types."""
    kind = get_task_type(task_type)
    if not holds_several_labels(kind):
        return 0
    rows = list(consolidated)
    written = 0
    for start in range(0, len(rows), CLASSES_BATCH):
        batch = rows[start : start + CLASSES_BATCH]
        if replace:
            ConsolidatedLabelClass.objects.filter(
                consolidated_id__in=[row.pk for row in batch]
            ).delete()
        # labels_in_value is sorted: its first is the value's first label (the label sort's).
        classes = [
            ConsolidatedLabelClass(
                consolidated_id=row.pk,
                item_id=row.item_id,
                job_id=row.job_id,
                label=label,
                first=position == 0,
            )
            for row in batch
            for position, label in enumerate(labels_in_value(kind, row.value) or [NO_LABEL])
        ]
        ConsolidatedLabelClass.objects.bulk_create(classes)
        written += len(classes)
    return written


def consolidated_classes_refresh(*, task_type: str, consolidated_ids: Iterable[int]) -> int:
    """Re-read the values of these consolidated labels (after a bulk rewrite) and store their
    labels again; nothing is read for single-label task types."""
    if not holds_several_labels(get_task_type(task_type)):
        return 0
    ids = list(consolidated_ids)
    written = 0
    for start in range(0, len(ids), CLASSES_BATCH):
        rows = ConsolidatedLabel.objects.filter(pk__in=ids[start : start + CLASSES_BATCH]).only(
            "pk", "item_id", "job_id", "value"
        )
        written += consolidated_classes_write(task_type=task_type, consolidated=rows)
    return written
