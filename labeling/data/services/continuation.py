"""Continuing a job from its own output (issue 16): an import line that already carries the
job's label attribute is stored labeled, with that label, and is not offered to labelers.

A stopped job's output manifest imported into a job with the same label attribute goes on
where it stopped, as the managed service allowed. The label is read back from the line as the
export wrote it (the class id and the metadata's ``class-name``, confidence, whether a human
made it and the method); the attribute and its metadata are taken off the stored line, which
the export splices them back onto. Task types whose label is more than one class (boxes,
masks, ...) continue through a chain link instead (``labeling/pipelines``), which copies the
stored label.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import F

from labeling.models import ConsolidatedLabel, Item, JobCounter
from labeling.states import ItemStatus
from labeling.task_types.base import answers_one_class

CONTINUED_METHOD = "continued"


@dataclass(frozen=True)
class CarriedLabel:
    label: str
    class_id: int
    confidence: float
    human: bool
    method: str


def carried_label(
    line: dict[str, Any], *, task_type, attribute: str, labels: list[str]
) -> CarriedLabel | None:
    """The label ``line`` carries under the job's own ``attribute`` (None: it carries none).
    Raises ValueError naming what is wrong with it."""
    metadata_key = f"{attribute}-metadata"
    if attribute not in line and metadata_key not in line:
        return None
    if attribute not in line:
        raise ValueError(f'the line has "{metadata_key}" without "{attribute}"')
    if not answers_one_class(task_type):
        raise ValueError(
            f'the line already has a "{attribute}" key, which this job writes; a {task_type.key} '
            "job continues another's labels through a chain link, not an import"
        )
    metadata = line.get(metadata_key) or {}
    if not isinstance(metadata, dict):
        raise ValueError(f'"{metadata_key}" must be an object')
    class_id = line[attribute]
    name = metadata.get("class-name")
    if name is None:
        if isinstance(class_id, bool) or not isinstance(class_id, int):
            raise ValueError(f'"{attribute}" must be a class id (a whole number)')
        if not 0 <= class_id < len(labels):
            raise ValueError(f'"{attribute}" is {class_id}: the job has {len(labels)} labels')
        name = labels[class_id]
    if name not in labels:
        raise ValueError(
            f"the carried label {name!r} is not one of the job's labels: {', '.join(labels)}"
        )
    confidence = metadata.get("confidence", 1.0)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValueError(f'"{metadata_key}".confidence must be a number')
    if not 0 <= confidence <= 1:
        raise ValueError(f'"{metadata_key}".confidence must be between 0 and 1')
    method = metadata.get("consolidation-method") or CONTINUED_METHOD
    return CarriedLabel(
        label=name,
        class_id=labels.index(name),
        confidence=float(confidence),
        human=metadata.get("human-annotated", "yes") != "no",
        method=str(method)[:32],
    )


def without_label(text: str, attribute: str) -> str:
    """The line's text without the job's attribute and its metadata (their order kept)."""
    line = json.loads(text)
    line.pop(attribute, None)
    line.pop(f"{attribute}-metadata", None)
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def carried_labels_store(
    *, job_id: int, import_run_id: int, carried: dict[int, CarriedLabel]
) -> int:
    """Store the labels of the run's lines that carried one (``carried``: 0-based position of
    the line -> its label), inside the import's transaction. Returns how many."""
    if not carried:
        return 0
    ids = list(
        Item.objects.filter(import_run_id=import_run_id).order_by("id").values_list("id", flat=True)
    )
    labeled = {ids[position]: label for position, label in carried.items()}
    Item.objects.filter(pk__in=list(labeled)).update(status=ItemStatus.LABELED)
    ConsolidatedLabel.objects.bulk_create(
        ConsolidatedLabel(
            item_id=item_id,
            job_id=job_id,
            value={"label": label.label, "class_id": label.class_id},
            label=label.label,
            confidence=label.confidence,
            method=label.method,
            human_annotated=label.human,
            answers_count=0,
        )
        for item_id, label in labeled.items()
    )
    counted = JobCounter.objects.filter(job_id=job_id, shard=0).update(
        items_labeled=F("items_labeled") + len(labeled)
    )
    if not counted:
        JobCounter.objects.create(job_id=job_id, shard=0, items_labeled=len(labeled))
    return len(labeled)
