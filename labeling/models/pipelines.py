"""Models of pipelines (issue 16): chains and taxonomies, streaming jobs, annotation hooks.

One section per part; each part keeps its state in its own tables, linked to jobs and items,
so the core's ``Job`` and ``Item`` stay as they are.
"""

from django.db import models
from django.db.models import Q

from labeling.models.core import Item, Job

# --- Streaming (issue 16 point 4; docs/pipelines.md "Streaming jobs") -------------------------


class StreamSettings(models.Model):
    """What makes a job a streaming job: items are posted at any time, each expires after its
    lifetime, and each result goes out on the job's feed (and webhook) once consolidated."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="stream")
    item_lifetime_seconds = models.PositiveIntegerField(default=24 * 3600)
    webhook_url = models.URLField(max_length=500, blank=True)
    # Encrypted at rest (labeling/crypto.py); signs every delivery.
    webhook_secret = models.TextField(blank=True)
    # The managed service's SNS topics (control plane): kept and shown, Quorum has no SNS.
    input_topic_arn = models.CharField(max_length=2048, blank=True)
    output_topic_arn = models.CharField(max_length=2048, blank=True)
    # The feed's last sequence number given out (the sequencer locks this row).
    last_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)


class StreamItem(models.Model):
    """An item posted to a streaming job: its client key and when it expires."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="stream_item")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    client_key = models.CharField(max_length=200)
    # None once the sweep found it labeled before its lifetime ended (off the due list).
    expires_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    expiry_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "client_key"], name="streamitem_job_key"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(expired_at=None), name="streamitem_due"
            ),
            models.Index(fields=["job"], condition=~Q(expired_at=None), name="streamitem_expired"),
        ]


class StreamEventKind(models.TextChoices):
    CONSOLIDATED = "consolidated", "Consolidated"
    RELABELED = "relabeled", "Relabeled by a reviewer"
    EXPIRED = "expired", "Expired"


class StreamDeliveryStatus(models.TextChoices):
    NONE = "", "No webhook"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class StreamEvent(models.Model):
    """One row of a streaming job's results feed, written in the transaction that labeled or
    expired the item; ``seq`` is given after that commits, in order, by the sequencer, so a
    reader's cursor never passes a row that commits later. Its webhook delivery's state too."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=StreamEventKind.choices)
    # The item history row it was made from (consolidated, review_fixed): one event each.
    source_event_id = models.BigIntegerField(null=True, blank=True, unique=True)
    seq = models.BigIntegerField(null=True, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField()
    sequenced_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(
        max_length=16, choices=StreamDeliveryStatus.choices, blank=True, default=""
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="streamevent_job_seq"),
            models.UniqueConstraint(
                fields=["item"],
                condition=Q(kind="expired"),
                name="streamevent_one_expiry_per_item",
            ),
        ]
        indexes = [
            models.Index(fields=["job", "id"], condition=Q(seq=None), name="streamevent_unseq"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivery_status="pending"),
                name="streamevent_delivery_due",
            ),
            models.Index(fields=["item", "seq"], name="streamevent_item_seq"),
        ]


class StreamDeliveryAttempt(models.Model):
    """One attempt at a feed row's webhook, recorded before its request leaves."""

    event = models.ForeignKey(StreamEvent, on_delete=models.CASCADE, related_name="attempts_made")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="streamattempt_number"),
        ]
