"""Status machines of jobs, items, assignments and imports: states and allowed moves."""

from django.db import models


class JobStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    JobStatus.DRAFT: frozenset({JobStatus.IN_PROGRESS, JobStatus.STOPPED}),
    JobStatus.IN_PROGRESS: frozenset({JobStatus.COMPLETED, JobStatus.STOPPED}),
    # A manager reopens a completed job for more answers (issue 14).
    JobStatus.COMPLETED: frozenset({JobStatus.IN_PROGRESS}),
    JobStatus.STOPPED: frozenset(),
}


class ItemStatus(models.TextChoices):
    OPEN = "open", "Collecting answers"
    LABELED = "labeled", "Labeled"
    # Issue 16: a streaming job's item not answered within its lifetime; never offered again.
    EXPIRED = "expired", "Expired"
    # Issue 16 (pipelines' hooks): not offered to labelers until its pre-annotation hook has
    # answered; then open, or out of the job's work as one of the two below.
    HELD = "held", "Waiting for its pre-annotation hook"
    FAILED = "failed", "Failed (a hook failed for good)"
    NO_HUMAN = "no_human", "Needs no human (its pre-annotation hook said so)"


class AssignmentStatus(models.TextChoices):
    LEASED = "leased", "Leased"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"
    RELEASED = "released", "Released"


# A lease ends exactly once; every end is final.
ASSIGNMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    AssignmentStatus.LEASED: frozenset(
        {
            AssignmentStatus.SUBMITTED,
            AssignmentStatus.SKIPPED,
            AssignmentStatus.EXPIRED,
            AssignmentStatus.RELEASED,
        }
    ),
    AssignmentStatus.SUBMITTED: frozenset(),
    AssignmentStatus.SKIPPED: frozenset(),
    AssignmentStatus.EXPIRED: frozenset(),
    AssignmentStatus.RELEASED: frozenset(),
}

# The statuses that keep a worker from being offered the item again.
ASSIGNMENT_HOLDS_ITEM = (
    AssignmentStatus.LEASED,
    AssignmentStatus.SUBMITTED,
    AssignmentStatus.SKIPPED,
)


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


IMPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ImportStatus.QUEUED: frozenset({ImportStatus.RUNNING, ImportStatus.FAILED}),
    # Back to queued: its worker was lost (its lease ran out) and it runs again.
    ImportStatus.RUNNING: frozenset(
        {ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.QUEUED}
    ),
    ImportStatus.SUCCEEDED: frozenset(),
    ImportStatus.FAILED: frozenset(),
}


def can_transition(transitions: dict[str, frozenset[str]], old: str, new: str) -> bool:
    return new in transitions.get(old, frozenset())
