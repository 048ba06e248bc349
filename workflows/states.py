"""Status machines of flows, human loops and webhook deliveries: states and allowed moves."""

from django.db import models


class FlowStatus(models.TextChoices):
    ACTIVE = "Active", "Active"
    INACTIVE = "Inactive", "Inactive"


class HumanLoopStatus(models.TextChoices):
    # The names are the managed runtime's: clients compare them as strings.
    IN_PROGRESS = "InProgress", "In progress"
    COMPLETED = "Completed", "Completed"
    FAILED = "Failed", "Failed"
    STOPPING = "Stopping", "Stopping"
    STOPPED = "Stopped", "Stopped"


HUMAN_LOOP_TRANSITIONS: dict[str, frozenset[str]] = {
    HumanLoopStatus.IN_PROGRESS: frozenset(
        {HumanLoopStatus.COMPLETED, HumanLoopStatus.FAILED, HumanLoopStatus.STOPPING}
    ),
    HumanLoopStatus.STOPPING: frozenset({HumanLoopStatus.STOPPED}),
    HumanLoopStatus.COMPLETED: frozenset(),
    HumanLoopStatus.FAILED: frozenset(),
    HumanLoopStatus.STOPPED: frozenset(),
}

# A loop may be deleted only once it has ended.
HUMAN_LOOP_DELETABLE = (
    HumanLoopStatus.COMPLETED,
    HumanLoopStatus.FAILED,
    HumanLoopStatus.STOPPED,
)


class Decision(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (the prediction stands)"
    REVIEW = "review", "Sent to human review"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed (gave up)"


DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED}),
    DeliveryStatus.SUCCEEDED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}


class WebhookEvent(models.TextChoices):
    COMPLETED = "human_loop.completed", "Loop completed"
    FAILED = "human_loop.failed", "Loop failed"
    STOPPED = "human_loop.stopped", "Loop stopped"
    MODEL_QUALITY_ALERT = "model_quality.alert", "Model quality alert (opened or cleared)"
    MODEL_RETRAIN = "model.retrain", "Retraining asked"


class AlertKind(models.TextChoices):
    ACCURACY = "accuracy", "Accuracy below baseline"
    CALIBRATION = "calibration", "Over-confidence (calibration gap)"
    AUTO_LABELS = "auto_labels", "A job's automated labels below their promised accuracy"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLEARED = "cleared", "Cleared"


class BaselineSource(models.TextChoices):
    STATED = "stated", "Stated by a manager"
    VALIDATION = "validation", "Posted with the model's validation metrics"
    FIRST_WINDOW = "first_window", "Estimated from the first audited window"


def can_transition(transitions: dict[str, frozenset[str]], old: str, new: str) -> bool:
    return new in transitions.get(old, frozenset())
