"""Models of pipelines (issue 16): chains and taxonomies, streaming jobs, annotation hooks.

One section per part; each part keeps its state in its own tables, linked to jobs and items,
so the core's ``Job`` and ``Item`` stay as they are.
"""

from django.conf import settings
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


# --- Hooks (issue 16 point 5; docs/pipelines.md "Pre- and post-annotation hooks") ----------


class AnnotationHook(models.Model):
    """A pre-annotation or consolidation hook: an HTTP endpoint (its secret signs every call)
    or a Python callable named by a dotted path that ``QUORUM_HOOK_CALLABLES`` allows."""

    name = models.CharField(max_length=64)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2000, blank=True)
    callable_path = models.CharField(max_length=300, blank=True)
    secret_encrypted = models.TextField(blank=True)
    timeout_seconds = models.FloatField(default=10.0)
    # The Lambda ARN a CreateLabelingJob names for it (control plane); "" for none.
    arn = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="hook_owner_name"),
            models.UniqueConstraint(fields=["arn"], condition=~Q(arn=""), name="hook_arn_unique"),
            models.CheckConstraint(
                condition=(Q(url="") & ~Q(callable_path="")) | (~Q(url="") & Q(callable_path="")),
                name="hook_url_xor_callable",
            ),
        ]


class JobHooks(models.Model):
    """The hooks a job names: a pre-annotation hook, a consolidation hook, or both."""

    job = models.OneToOneField("labeling.Job", on_delete=models.CASCADE, related_name="hooks")
    pre_hook = models.ForeignKey(
        AnnotationHook,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    consolidation_hook = models.ForeignKey(
        AnnotationHook,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The consolidation event's payload: inline (``payload`` holds the document) or by a
    # signed, expiring URL (``payload.s3Uri``), as the managed service sent it.
    payload_inline = models.BooleanField(default=False)


class HookKind(models.TextChoices):
    PRE = "pre", "Pre-annotation"
    CONSOLIDATION = "consolidation", "Consolidation"


class HookItemStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the hook"
    DONE = "done", "Answered"
    FAILED = "failed", "Failed for good"


class HookItem(models.Model):
    """An item's state with its job's hooks: the pre-annotation answer (``task_input`` is
    what the task template sees as ``task.input``) and why a hook failed for good."""

    item = models.OneToOneField(
        "labeling.Item", on_delete=models.CASCADE, related_name="hook_state"
    )
    job = models.ForeignKey("labeling.Job", on_delete=models.CASCADE, related_name="+")
    pre_status = models.CharField(
        max_length=8, choices=HookItemStatus.choices, blank=True, default=""
    )
    task_input = models.JSONField(null=True, blank=True)
    human_required = models.BooleanField(default=True)
    consolidation_status = models.CharField(
        max_length=8, choices=HookItemStatus.choices, blank=True, default=""
    )
    failure_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "pre_status"], name="hookitem_job_pre"),
            models.Index(fields=["job", "consolidation_status"], name="hookitem_job_consolidation"),
        ]


class HookCall(models.Model):
    """One call of a hook (each attempt): for which item, how it went, how long it took."""

    hook = models.ForeignKey(
        AnnotationHook, on_delete=models.SET_NULL, null=True, related_name="calls"
    )
    job = models.ForeignKey("labeling.Job", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, null=True, related_name="+")
    kind = models.CharField(max_length=16, choices=HookKind.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    ok = models.BooleanField()
    # The HTTP status (None for a callable, or when no answer came).
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    called_at = models.DateTimeField()
    duration_ms = models.FloatField()

    class Meta:
        indexes = [
            models.Index(fields=["job", "-id"], name="hookcall_job_recent"),
            models.Index(
                fields=["job", "-id"], condition=Q(ok=False), name="hookcall_job_failures"
            ),
        ]


# ---------------------------------------------------------------------------------------------
# Chains (issue 16 points 1 and 2; p16-chain): parent job -> child job edges, the items passed
# along each edge, and the taxonomies that build a tree of such edges.
# ---------------------------------------------------------------------------------------------


class Taxonomy(models.Model):
    """A manager's hierarchy of labels, built once into a chain of jobs rooted at ``root_job``."""

    name = models.CharField(max_length=200)
    definition = models.JSONField()
    root_job = models.OneToOneField(
        "labeling.Job", on_delete=models.CASCADE, related_name="taxonomy"
    )
    created_by = models.ForeignKey(
        "labeling.User", on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)


class ChainLink(models.Model):
    """An edge parent job -> child job: the parent's consolidated items that meet the filter
    become items of the child, carrying the parent's manifest line. A child has one parent."""

    parent = models.ForeignKey("labeling.Job", on_delete=models.CASCADE, related_name="+")
    child = models.OneToOneField(
        "labeling.Job", on_delete=models.CASCADE, related_name="chain_parent_link"
    )
    # The filter: empty list / null / False mean "no condition"; all given conditions must hold.
    labels = models.JSONField(default=list, blank=True)
    confidence_below = models.FloatField(null=True, blank=True)
    machine_labeled_only = models.BooleanField(default=False)
    # The child's label attribute is the parent's: it continues the parent (labels kept).
    continues = models.BooleanField(default=False)
    taxonomy = models.ForeignKey(
        Taxonomy, on_delete=models.CASCADE, null=True, blank=True, related_name="links"
    )
    created_by = models.ForeignKey(
        "labeling.User", on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["parent"], name="chainlink_parent")]


class PassageStatus(models.TextChoices):
    PASSED = "passed", "Passed to the child"
    FILTERED = "filtered", "Left out by the filter"
    WITHDRAWN = "withdrawn", "Withdrawn from the child"


class ChainPassage(models.Model):
    """What one link did with one parent item: passed it (to ``child_item``), left it out, or
    withdrew it after a relabel. At most one row per link and parent item (idempotence)."""

    link = models.ForeignKey(ChainLink, on_delete=models.CASCADE, related_name="passages")
    parent_item = models.ForeignKey("labeling.Item", on_delete=models.CASCADE, related_name="+")
    child_item = models.ForeignKey(
        "labeling.Item", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=PassageStatus.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    # When the parent's label was consolidated (or revised) and when the child got the item.
    labeled_at = models.DateTimeField(null=True, blank=True)
    passed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "parent_item"], name="chainpassage_once"),
        ]
        indexes = [
            models.Index(fields=["link", "status"], name="chainpassage_link_status"),
            models.Index(fields=["child_item"], name="chainpassage_child_item"),
        ]
