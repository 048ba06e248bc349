"""Checks of a chain link (issue 16): can the child's task type read the parent's output, and
is the filter one the parent's labels can meet. Each refusal names what is wrong."""

import json
from dataclasses import dataclass
from typing import Any

from labeling.data.exports import item_manifest_line
from labeling.errors import ValidationFailed
from labeling.models import Item, Job
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import SourceProblem, answers_one_class
from labeling.task_types.image_boxes import OBJECT_DETECTION

# The manifest types each reader of earlier labels takes (the other readers, verification and
# adjustment of every drawing type, say theirs: ``earlier_manifest_type``).
_READS: dict[str, tuple[str, ...]] = {
    "image-bounding-box-adjustment": (OBJECT_DETECTION,),
    "image-label-verification": (
        OBJECT_DETECTION,
        "groundtruth/image-classification",
        "groundtruth/image-classification-multilabel",
    ),
}


@dataclass(frozen=True)
class ChainFilter:
    labels: tuple[str, ...] = ()
    confidence_below: float | None = None
    machine_labeled_only: bool = False


def chain_check_compatible(*, parent: Job, child: Job) -> None:
    """Raise ValidationFailed naming why ``child``'s task type can't read ``parent``'s output."""
    parent_type, child_type = get_task_type(parent.task_type), get_task_type(child.task_type)
    if child.label_attribute_name == parent.label_attribute_name:
        if child.task_type != parent.task_type:
            raise ValidationFailed(
                f"a child with the parent's label attribute ({parent.label_attribute_name!r}) "
                f"continues it, so it needs the parent's task type {parent.task_type!r}, not "
                f"{child.task_type!r}; give the child another label attribute to chain it",
                details={"field": "label_attribute_name"},
            )
        return
    earlier = getattr(child_type, "earlier_manifest_type", "")
    reads = _READS.get(child_type.key) or ((earlier,) if earlier else ())
    if reads and parent_type.manifest_type not in reads:
        raise ValidationFailed(
            f"task type {child_type.key!r} reads earlier labels of the types "
            f"{', '.join(reads)}; the parent's task type {parent_type.key!r} writes "
            f"{parent_type.manifest_type!r}",
            details={"field": "task_type"},
        )
    media = (getattr(parent_type, "media", ""), getattr(child_type, "media", ""))
    if "any" not in media and media[0] != media[1]:
        raise ValidationFailed(
            f"the parent's items are {parent_type.media} ({parent_type.key}); task type "
            f"{child_type.key!r} labels {child_type.media}",
            details={"field": "task_type"},
        )
    sample = Item.objects.filter(job_id=parent.pk).order_by("id").values_list("id", flat=True)
    first = sample.filter(status=ItemStatus.LABELED).first()
    if first is None and not reads:  # a reader of earlier labels needs a labeled line
        first = sample.first()
    if first is not None:
        line = json.loads(item_manifest_line(parent, first))
        try:
            child_type.check_source(line)
        except SourceProblem as exc:
            raise ValidationFailed(
                f"task type {child_type.key!r} can't take the parent's output lines: {exc}",
                details={"field": "task_type"},
            ) from None


def chain_filter_clean(
    parent: Job, labels: Any, confidence_below: Any, machine: Any
) -> ChainFilter:
    if labels in (None, ""):
        labels = []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValidationFailed("labels must be a list of label names", details={"field": "labels"})
    unknown = sorted(set(labels) - set(parent.labels))
    if unknown:
        raise ValidationFailed(
            f"the parent job has no label {', '.join(map(repr, unknown))}; "
            f"its labels: {', '.join(parent.labels)}",
            details={"field": "labels"},
        )
    if labels and not answers_one_class(get_task_type(parent.task_type)):
        raise ValidationFailed(
            f"a label filter needs a parent whose label is one class; {parent.task_type!r}'s "
            "is not",
            details={"field": "labels"},
        )
    if confidence_below is not None:
        if isinstance(confidence_below, bool) or not isinstance(confidence_below, int | float):
            raise ValidationFailed(
                "confidence_below must be a number", details={"field": "confidence_below"}
            )
        if not 0 < confidence_below <= 1:
            raise ValidationFailed(
                "confidence_below must be in (0, 1]", details={"field": "confidence_below"}
            )
    if not isinstance(machine, bool):
        raise ValidationFailed(
            "machine_labeled_only must be true or false", details={"field": "machine_labeled_only"}
        )
    return ChainFilter(tuple(labels), confidence_below, machine)
