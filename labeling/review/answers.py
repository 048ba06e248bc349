"""A stored label or answer as the task type's own element takes it back as its initial value:
what a reviewer starts from (the consolidated label) and what a labeler revises (their answer).

Each element reads a different shape (``initial-value`` of boxes, polygons, points, spans; a
chosen class). Types without one here start empty; docs/review.md lists them.
"""

from typing import Any

from labeling.models import Job
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem

# Keys of a consolidated object that are not part of a worker's answer.
_CONSOLIDATION_KEYS = {"class_id", "confidence"}


def _strip(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in o.items() if k not in _CONSOLIDATION_KEYS} for o in objects]


def answer_of_value(*, job: Job, value: Any) -> dict[str, Any] | None:
    """The answer a worker would have sent for the consolidated ``value``, or None when the
    task type has no way back from its consolidated shape (checked by the task type)."""
    task_type = get_task_type(job.task_type)
    if not isinstance(value, dict):
        return None
    answer: dict[str, Any] | None = None
    list_key = getattr(task_type, "list_key", None)
    if "boxes" in value and "image_size" in value:
        answer = {
            "annotatedResult": {
                "boundingBoxes": _strip(value["boxes"]),
                "inputImageProperties": value["image_size"],
            }
        }
    elif list_key and list_key in value and "image_size" in value:
        answer = {
            task_type.default_name: {
                list_key: _strip(value[list_key]),
                "inputImageProperties": value["image_size"],
            }
        }
    elif "entities" in value:
        answer = {"entities": value["entities"]}
    elif "labels" in value and isinstance(value["labels"], list):
        answer = {"labels": value["labels"]}
    elif isinstance(value.get("label"), str) and getattr(task_type, "answer_is_one_class", False):
        answer = {"label": value["label"]}
    elif task_type.key == "custom":
        answer = value
    if answer is None:
        return None
    try:
        return task_type.parse_answer(answer, list(job.labels)).answer
    except AnswerProblem:
        return None


def element_initial(answer: dict[str, Any] | None) -> dict[str, Any]:
    """How the page hands ``answer`` (a parsed answer) to the task's element:
    ``{"initial": <initial-value JSON>}`` for drawing and span elements, ``{"choose": [labels]}``
    for classifiers, ``{}`` when there is nothing to start from."""
    if not answer:
        return {}
    inner = answer
    if len(answer) == 1:
        (only,) = answer.values()
        if isinstance(only, dict):
            inner = only
    for key in ("boundingBoxes", "polygons", "keypoints", "polylines", "lines"):
        if isinstance(inner.get(key), list):
            return {"initial": inner[key]}
    if isinstance(inner.get("entities"), list):
        return {"initial": {"entities": inner["entities"]}}
    if isinstance(inner.get("label"), str):
        return {"choose": [inner["label"]]}
    if isinstance(inner.get("labels"), list):
        return {"choose": inner["labels"]}
    return {}
