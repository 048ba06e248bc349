"""Reviewed loops become training data: a human-labelled item of the flow's dataset job."""

import json
import logging

from django.db.models import F

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel, Item, Job
from labeling.services.counters import job_counters_add
from labeling.services.item_text import item_text_store
from labeling.services.label_classes import consolidated_classes_write
from labeling.services.manager_labels import manager_label_parse
from labeling.states import ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_one_class
from workflows.models import HumanLoop

REVIEW_METHOD = "review-loop"

logger = logging.getLogger(__name__)


def dataset_add_reviewed(*, loop: HumanLoop, consolidated: ConsolidatedLabel) -> Item | None:
    """Add ``loop``'s input with its consolidated human label to the flow's dataset job
    (inside the caller's transaction). Without a dataset job the backing job's own item,
    already labelled by people, is the training example."""
    dataset_id = loop.flow.dataset_job_id
    if dataset_id is None:
        return None
    dataset = Job.objects.only("task_type", "labels").get(pk=dataset_id)
    value = consolidated.value
    if answers_one_class(get_task_type(dataset.task_type)):
        # The dataset job's own class id: its labels may be in another order than the flow's.
        try:
            value = manager_label_parse(job=dataset, label=consolidated.label).value
        except ValidationFailed as exc:
            logger.warning(
                "reviewed loop %s did not join dataset job %s: %s", loop.name, dataset_id, exc
            )
            return None
    source = json.loads(Item.objects.values_list("data", flat=True).get(pk=consolidated.item_id))
    # The input keys of the item: its source, or an LLM item's fields (issue 17).
    kept = ("source", "source-ref", *getattr(get_task_type(dataset.task_type), "item_fields", ()))
    line = {key: value for key, value in source.items() if key in kept}
    line["quorum-human-loop"] = loop.name
    item = Item.objects.create(
        job_id=dataset_id,
        data=json.dumps(line, ensure_ascii=False, separators=(",", ":")),
        status=ItemStatus.LABELED,
    )
    item_text_store(job_id=dataset_id, first_item_id=item.pk, last_item_id=item.pk)
    stored = ConsolidatedLabel.objects.create(
        item=item,
        job_id=dataset_id,
        value=value,
        label=consolidated.label,
        confidence=consolidated.confidence,
        method=REVIEW_METHOD,
        human_annotated=True,
        answers_count=consolidated.answers_count,
    )
    consolidated_classes_write(task_type=dataset.task_type, consolidated=[stored], replace=False)
    Job.objects.filter(pk=dataset_id).update(items_total=F("items_total") + 1)
    job_counters_add(job_id=dataset_id, shard_key=item.pk, items_labeled=1, answers=0)
    return item
