"""Review variants of the built-in task types: the same answers, with the model's prediction
shown and pre-selected, so a reviewer accepts it with Enter or corrects it with 1–9."""

from dataclasses import replace

from labeling.task_types import (
    IMAGE_CLASSIFICATION,
    LLM_PAIRWISE_PREFERENCE,
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


# issue 17: the LLM pairwise preference in a review loop: the model's preferred response (its
# label "A", "B" or "tie") is shown and pre-selected; the reviewer accepts it with Enter or
# changes it with A / B / T and 1–3.
REVIEW_LLM_PAIRWISE_PREFERENCE = register_task_type(
    replace(
        LLM_PAIRWISE_PREFERENCE,
        key=REVIEW_PREFIX + LLM_PAIRWISE_PREFERENCE.key,
        title=f"{LLM_PAIRWISE_PREFERENCE.title}: review of a model's judgment",
        template_name="tasks/review_llm_pairwise_preference.html",
    ),
    reserved_for=RESERVED_FOR.format(base=LLM_PAIRWISE_PREFERENCE.key),
)
