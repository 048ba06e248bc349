"""Status machines of training rounds and audits: states and allowed moves."""

from django.db import models


class RoundStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    TRAINING = "training", "Training"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


# A round still to run or running; at most one per job (a partial unique constraint).
ROUND_PENDING = (RoundStatus.QUEUED, RoundStatus.TRAINING)

ROUND_TRANSITIONS: dict[str, frozenset[str]] = {
    # A training round may be taken over by the holder of the job's lease: its worker died.
    RoundStatus.QUEUED: frozenset({RoundStatus.TRAINING, RoundStatus.FAILED}),
    RoundStatus.TRAINING: frozenset(
        {RoundStatus.TRAINING, RoundStatus.DONE, RoundStatus.SKIPPED, RoundStatus.FAILED}
    ),
    RoundStatus.DONE: frozenset(),
    RoundStatus.SKIPPED: frozenset(),
    RoundStatus.FAILED: frozenset(),
}


class RoundTrigger(models.TextChoices):
    LABELS = "labels", "New human labels"
    MANUAL = "manual", "Asked by a manager"
    SWEEP = "sweep", "Periodic check"
    BUDGET = "budget", "The human budget is spent: the last round"


class AuditStatus(models.TextChoices):
    OPEN = "open", "Waiting for human answers"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
