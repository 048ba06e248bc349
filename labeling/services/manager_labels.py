"""A manager's label for an item (a final label, a gold item's known answer), checked by the
job's task type as a worker's answer is at submit and shaped like its consolidated labels.

``manager_label_parse`` takes one class (gold items' known answers, a final label), so only
task types whose answer is one class take it: a class stored as the label of boxes, spans or
masks would break every export. ``manager_answer_parse`` takes a whole answer of any task type
(review: accept, fix; issue 14) and stores what the task type's consolidation would.
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


def manager_answer_parse(*, job: Job, answer: object, item_data: str) -> ManagerLabel:
    """A reviewer's or a manager's answer for an item of any task type, checked exactly as a
    worker's answer is at submit (``parse_answer``, then ``check_answer_for_item``), and the
    consolidated value it stands for, as the task type's own consolidation writes it: so no
    stored label can have a shape an export does not know. Raises ValidationFailed naming why.
    """
    task_type = get_task_type(job.task_type)
    labels = list(job.labels)
    line = json.loads(item_data)
    try:
        parsed = task_type.parse_answer(answer, labels)
        if hasattr(task_type, "check_answer_for_item"):
            task_type.check_answer_for_item(parsed.answer, line)
    except AnswerProblem as exc:
        raise ValidationFailed(str(exc), details={"field": "answer"}) from None
    if is_structured(task_type):
        result = task_type.consolidate_answers([parsed.answer], labels, item_data=line)
        return ManagerLabel(label=(result.label or parsed.label)[:200], value=result.value)
    if parsed.label not in labels:
        raise ValidationFailed(
            f"{parsed.label!r} is not one of the job's labels", details={"field": "answer"}
        )
    return ManagerLabel(
        label=parsed.label, value={"label": parsed.label, "class_id": labels.index(parsed.label)}
    )


def manager_answer_canonical(*, job: Job, answer: object, item_data: str) -> str | None:
    """An answer as the task type parses it, as comparable text (None when it does not parse):
    a reviewer who sends back the answer they were shown has accepted it."""
    task_type = get_task_type(job.task_type)
    try:
        parsed = task_type.parse_answer(answer, list(job.labels))
    except AnswerProblem:
        return None
    inner = parsed.answer
    if len(inner) == 1:  # the element's name is the template's, not part of the answer
        (only,) = inner.values()
        if isinstance(only, dict):
            inner = only
    inner = {key: value for key, value in inner.items() if key != "initialValueModified"}
    return json.dumps(inner, sort_keys=True)
