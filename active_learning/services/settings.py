"""Turning automated labeling on and off for a job, and choosing its validation slice."""

from django.db import transaction
from django.utils import timezone

from active_learning.labelspace import MULTILABEL_TASK_TYPES, SINGLE_LABEL_TASK_TYPES
from active_learning.learners.registry import learner_installed
from active_learning.models import AutoLabeling, HeldOutItem, LearnerKind
from active_learning.services.priorities import validation_slice_draw
from active_learning.shapespace import BOX_TASK_TYPES, MASK_TASK_TYPES, SHAPE_TASK_TYPES
from active_learning.strategies import get_strategy
from labeling.errors import Conflict, ValidationFailed
from labeling.models import Job, User
from labeling.states import JobStatus
from labeling.task_types import get_task_type

SUPPORTED_TASK_TYPES = SINGLE_LABEL_TASK_TYPES + MULTILABEL_TASK_TYPES + SHAPE_TASK_TYPES
_LEARNER_MEDIA = {
    LearnerKind.TEXT_TFIDF: "text",
    LearnerKind.TEXT_EMBEDDING: "text",
    LearnerKind.IMAGE_CNN: "image",
    LearnerKind.IMAGE_DETECTOR: "image",
    LearnerKind.IMAGE_SEGMENTER: "image",
}
# Box and mask jobs (issue 19) take one learner each; classification jobs take neither.
_SHAPE_LEARNERS = {
    **{key: LearnerKind.IMAGE_DETECTOR for key in BOX_TASK_TYPES},
    **{key: LearnerKind.IMAGE_SEGMENTER for key in MASK_TASK_TYPES},
}
_FIELDS = (
    "target_accuracy",
    "alpha",
    "human_budget",
    "strategy",
    "learner",
    "validation_size",
    "validation_refill",
    "round_every",
    "round_growth",
    "min_training_labels",
    "preannotate",
    "target_mean_iou",
)


def _check(job: Job, values: dict) -> None:
    if job.task_type not in SUPPORTED_TASK_TYPES:
        raise ValidationFailed(
            f"automated labeling supports {', '.join(SUPPORTED_TASK_TYPES)}, not {job.task_type}",
            details={"field": "task_type"},
        )
    target = values.get("target_accuracy")
    if target is not None and not 0.5 <= target <= 0.999:
        raise ValidationFailed(
            "target_accuracy must be between 0.5 and 0.999", details={"field": "target_accuracy"}
        )
    alpha = values.get("alpha")
    if alpha is not None and not 0.001 <= alpha <= 0.5:
        raise ValidationFailed("alpha must be between 0.001 and 0.5", details={"field": "alpha"})
    if "strategy" in values:
        try:
            get_strategy(values["strategy"])
        except KeyError as exc:
            raise ValidationFailed(str(exc.args[0]), details={"field": "strategy"}) from None
    learner = values.get("learner")
    if learner is not None and learner != LearnerKind.AUTO:
        if learner not in _LEARNER_MEDIA:
            raise ValidationFailed(f"unknown learner {learner!r}", details={"field": "learner"})
        if not learner_installed(learner):
            raise ValidationFailed(
                f"the learner {learner} is not installed here (pip install 'quorum[embeddings]')",
                details={"field": "learner"},
            )
        if _LEARNER_MEDIA[learner] != get_task_type(job.task_type).media:
            raise ValidationFailed(
                f"the learner {learner} does not take {get_task_type(job.task_type).media}",
                details={"field": "learner"},
            )
    _check_shapes(job, values)
    growth = values.get("round_growth")
    if growth is not None and not 0.0 <= growth <= 10.0:
        raise ValidationFailed(
            "round_growth must be between 0 and 10", details={"field": "round_growth"}
        )
    for name in ("round_every", "validation_size", "min_training_labels"):
        value = values.get(name)
        if value is not None and (not isinstance(value, int) or value < (name == "round_every")):
            raise ValidationFailed(f"{name} must be a whole number ≥ 0", details={"field": name})


def _check_shapes(job: Job, values: dict) -> None:
    """The settings of box and mask jobs: their learner, mean IoU target, no suggestions."""
    shapes = job.task_type in SHAPE_TASK_TYPES
    learner = values.get("learner")
    named = learner not in (None, LearnerKind.AUTO)
    shape_learner = learner in (LearnerKind.IMAGE_DETECTOR, LearnerKind.IMAGE_SEGMENTER)
    if (shape_learner or (shapes and named)) and learner != _SHAPE_LEARNERS.get(job.task_type):
        raise ValidationFailed(
            f"the learner {learner} does not label {job.task_type} jobs",
            details={"field": "learner"},
        )
    target = values.get("target_mean_iou")
    if target is not None:
        if not shapes:
            raise ValidationFailed(
                "target_mean_iou is for box and mask jobs; classification uses target_accuracy",
                details={"field": "target_mean_iou"},
            )
        if not 0.05 <= target <= 0.999:
            raise ValidationFailed(
                "target_mean_iou must be between 0.05 and 0.999",
                details={"field": "target_mean_iou"},
            )
    if shapes and values.get("preannotate"):
        raise ValidationFailed(
            "suggestions are for classification jobs; box and mask jobs do not take them yet",
            details={"field": "preannotate"},
        )


def auto_labeling_enable(*, job: Job, by: User, seed: int | None = None, **values) -> AutoLabeling:
    """Turn the loop on (creating its settings and validation slice the first time) or change
    its settings. The validation slice is drawn at random from items nobody has touched and
    goes first in the human queue; the others are put in random order until a model exists.
    ``seed`` makes the draw repeatable (benchmarks); by default it is unpredictable.
    """
    unknown = set(values) - set(_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown settings: {', '.join(sorted(unknown))}")
    if job.status not in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        raise Conflict(
            f"a {job.get_status_display().lower()} job cannot be auto-labeled",
            code="job_not_open",
        )
    _check(job, values)
    with transaction.atomic():
        config = AutoLabeling.objects.select_for_update().filter(job_id=job.pk).first()
        created = config is None
        if created:
            config = AutoLabeling(job=job, created_by=by)
        if "human_budget" in values and values["human_budget"] != config.human_budget:
            config.budget_spent_at = None  # a new budget: a last round when it is spent
        for name, value in values.items():
            setattr(config, name, value)
        config.enabled = True
        config.save()
        if not HeldOutItem.objects.filter(job_id=job.pk).exists():
            validation_slice_draw(job=job, size=config.validation_size, seed=seed)
    return config


def auto_labeling_disable(*, job: Job) -> AutoLabeling:
    """Stop new rounds and auto-labels; labels already given stay (an audit can check them)."""
    with transaction.atomic():
        config = AutoLabeling.objects.select_for_update().filter(job_id=job.pk).first()
        if config is None:
            raise Conflict("automated labeling was never turned on for this job", code="not_on")
        config.enabled = False
        config.save(update_fields=["enabled", "updated_at"])
    return config


def auto_labeling_stop(*, job_id: int, reason: str) -> bool:
    """Stop auto-labels for a reason (a failed audit); the loop still orders the human queue."""
    return bool(
        AutoLabeling.objects.filter(job_id=job_id, stopped_reason="").update(
            stopped_reason=reason[:500], stopped_at=timezone.now()
        )
    )
