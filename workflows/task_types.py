"""Review variants of the built-in task types: the same answers, with the model's prediction
shown and pre-selected, so a reviewer accepts it with Enter or corrects it with 1–9."""

from dataclasses import replace

from labeling.task_types import (
    IMAGE_CLASSIFICATION,
    TEXT_CLASSIFICATION,
    TaskType,
    get_task_type,
    register_task_type,
)

REVIEW_PREFIX = "review-"
REVIEW_TEMPLATE = "tasks/review_classification.html"
RESERVED_FOR = (
    "the jobs that review-loop flows create (create a flow instead: POST /api/v1/flows "
    "with task_type {base!r})"
)


def _review_of(task_type) -> TaskType:
    return register_task_type(
        replace(
            task_type,
            key=REVIEW_PREFIX + task_type.key,
            title=f"{task_type.title}: review of a model's prediction",
            template_name=REVIEW_TEMPLATE,
        ),
        reserved_for=RESERVED_FOR.format(base=task_type.key),
    )


REVIEW_TEXT_CLASSIFICATION = _review_of(TEXT_CLASSIFICATION)
REVIEW_IMAGE_CLASSIFICATION = _review_of(IMAGE_CLASSIFICATION)


def review_variant(task_type_key: str) -> str:
    """The review task type of a built-in one (the key itself when it has none)."""
    candidate = REVIEW_PREFIX + task_type_key
    try:
        get_task_type(candidate)
    except KeyError:
        return task_type_key
    return candidate


def base_task_type(key: str) -> str:
    return key.removeprefix(REVIEW_PREFIX)
