"""Models of the item page and review: an item's event log and its comments (issue 14)."""

from django.db import models

from labeling.models.core import Item, Job, User


class ItemEventKind(models.TextChoices):
    CONSOLIDATED = "consolidated", "Consolidated"
    REVIEW_ACCEPTED = "review_accepted", "Review accepted"
    REVIEW_FIXED = "review_fixed", "Review fixed"
    REVIEW_REJECTED = "review_rejected", "Review rejected"
    EDITED = "edited", "Label set by a manager"
    ANSWER_REVISED = "answer_revised", "Answer revised"
    REOPENED = "reopened", "Reopened for more answers"
    # Issue 16: a streaming job's item not answered within its lifetime (data: the reason).
    EXPIRED = "expired", "Expired unanswered"


class ItemEvent(models.Model):
    """One row of an item's history, append-only: who did what when, with before and after.

    Leases, answers, skips and expiries are not repeated here: the history reads them from
    the item's assignments, which already hold who and when."""

    # Issue 20: no single-column indexes; each is led by a composite one below.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=16, choices=ItemEventKind.choices)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    # What changed: {"before": ..., "after": ..., "reason": ..., ...}
    data = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["item", "-at"], name="itemevent_item_time"),
            models.Index(fields=["job", "kind", "at"], name="itemevent_job_kind_time"),
        ]


class ItemComment(models.Model):
    """A comment on an item, or on one region of it (a shape or a span), with @mentions."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(max_length=5000)
    # The region commented on: {"kind": "box"|"span"|..., ...its geometry}; null for the item.
    region = models.JSONField(null=True, blank=True)
    # The ids of the team members the body mentions (@username).
    mentions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["item", "created_at"], name="itemcomment_item_time")]


class Mention(models.Model):
    """A user's notice that a comment mentions them (@username); unread until they say so."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(ItemComment, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at"], name="mention_user_read")]
        constraints = [
            models.UniqueConstraint(fields=["user", "comment"], name="mention_once_per_comment")
        ]
