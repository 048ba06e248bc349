"""Models of the manager's console: bulk actions over a selection of a job's items, and the text
the data manager's search reads."""

from django.db import models

from labeling.models.core import Item, Job, User


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


class ItemText(models.Model):
    """The text the data manager's search reads for one item: a copy of its data, in a table of
    its own so that the trigram index over it (PostgreSQL, ``item_search_text_trgm``) is not
    rewritten by the item's own updates (status, counts, priority) nor by an import's COPY.
    Written after the commit that creates the items (``labeling/services/item_text.py``)."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="+")
    text = models.TextField()


class ItemTextBacklog(models.Model):
    """Items of a job whose search text is not written yet: those with ids from ``first_item_id``
    to ``last_item_id``. The search reads these items' data itself until a Celery worker has
    written their text and removed the range."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    first_item_id = models.BigIntegerField()
    last_item_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_item_id__lte=models.F("last_item_id")),
                name="itemtextbacklog_range",
            ),
        ]
