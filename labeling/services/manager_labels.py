"""A manager's label for an item (a final label, a gold item's known answer), checked by the
job's task type as a worker's answer is at submit and shaped like its consolidated labels.

Only task types whose answer is one class take one: the review queue and gold items give a
class, and a class stored as the label of boxes, spans or masks would break every export.
"""

import json
from dataclasses import dataclass
from typing import Any

from labeling.errors import ValidationFailed
from labeling.models import Job
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem, answers_one_class, is_structured

NOT_ONE_CLASS = "answer_not_one_class"


@dataclass(frozen=True)
class ManagerLabel:
    label: str
    # The consolidated value, as the task type's own consolidation would write it.
    value: dict[str, Any]


def manager_label_parse(*, job: Job, label: object, item_data: str | None = None) -> ManagerLabel:
    """Check ``label`` for ``job`` with its task type; raise ValidationFailed naming why not.

    ``item_data`` is the item's stored line, for task types that check an answer against it.
    """
    task_type = get_task_type(job.task_type)
    if not answers_one_class(task_type):
        raise ValidationFailed(
            f"answers of task type {task_type.key} ({task_type.title}) are not one class, so "
            "one label can't be set for them; editing them here is not available yet",
            code=NOT_ONE_CLASS,
            details={"field": "label", "task_type": task_type.key},
        )
    labels = list(job.labels)
    line = json.loads(item_data) if item_data is not None else None
    try:
        parsed = task_type.parse_answer({"label": label}, labels)
        if line is not None and hasattr(task_type, "check_answer_for_item"):
            task_type.check_answer_for_item(parsed.answer, line)
    except AnswerProblem as exc:
        raise ValidationFailed(str(exc), details={"field": "label", "labels": labels}) from None
    if is_structured(task_type):
        value = task_type.consolidate_answers([parsed.answer], labels, item_data=line).value
    else:
        value = {"label": parsed.label, "class_id": labels.index(parsed.label)}
    return ManagerLabel(label=parsed.label, value=value)
