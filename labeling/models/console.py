"""Models of the manager's console: bulk actions over a selection of a job's items."""

from django.db import models

from labeling.models.core import Job, User


class BulkActionKind(models.TextChoices):
    MORE_ANSWERS = "more_answers", "Send for more answers"
    REVIEW = "review", "Send to review"
    PRIORITY = "priority", "Set priority"
    GOLD = "gold", "Mark as gold"
    UNGOLD = "ungold", "Unmark gold"
    EXPORT = "export", "Export"
    DELETE = "delete", "Delete"


class BulkActionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class BulkAction(models.Model):
    """One bulk action of the data manager over a selection of a job's items, run by a Celery
    worker in batches; ``last_item_id`` is the keyset cursor of the last batch committed, so a
    run that is started again continues after it and never applies a batch twice."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="bulk_actions")
    kind = models.CharField(max_length=16, choices=BulkActionKind.choices)
    # {"ids": [...]} (rows picked on screen) or {"filters": {...}} (all that match).
    selection = models.JSONField(default=dict)
    # The action's argument: {"priority": 5}, {"format": "coco"}.
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=BulkActionStatus.choices, default=BulkActionStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # Items of the selection the action left as they were (gold without a label, ...).
    skipped = models.PositiveIntegerField(default=0)
    last_item_id = models.BigIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    # An export's file under MEDIA_ROOT.
    result_path = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "-created_at"], name="bulkaction_job_created")]
