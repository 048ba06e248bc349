"""Data and invariants of review loops: flows, human loops, predictions, webhooks, access keys."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from labeling.models import Item, Job, Team, User
from workflows.states import (
    AlertKind,
    AlertStatus,
    BaselineSource,
    Decision,
    DeliveryStatus,
    FlowStatus,
    HumanLoopStatus,
    WebhookEvent,
)

# The managed runtime's pattern for loop (and here flow) names.
NAME_PATTERN = r"^[a-z0-9](-*[a-z0-9])*$"
NAME_MAX_CHARS = 63


class Flow(models.Model):
    """A flow definition: which predictions go to which team, how, and where results go.

    Its loops are the items of one backing labeling job, so leases, consolidation and the
    labeler portal are the labeling app's.
    """

    name = models.CharField(max_length=NAME_MAX_CHARS, unique=True)
    job = models.OneToOneField(Job, on_delete=models.PROTECT, related_name="flow")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="flows")
    status = models.CharField(max_length=16, choices=FlowStatus.choices, default=FlowStatus.ACTIVE)
    # Where the text (or "source-ref") to review sits in a loop's input content.
    source_key = models.CharField(max_length=100, default="source")
    loop_lifetime_seconds = models.PositiveIntegerField(
        default=24 * 3600, validators=[MinValueValidator(60), MaxValueValidator(30 * 86400)]
    )
    # A validated tree; see workflows/conditions.py. Empty: no condition sends to review.
    conditions = models.JSONField(default=dict, blank=True)
    sample_percent = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(100)],
    )
    # S3OutputPath: with an s3:// URI each completed loop's output document is written to
    # <this>/<flow>/YYYY/MM/DD/hh/mm/ss/<loop>/output.json (docs/storage.md); blank keeps the
    # signed https link.
    output_path = models.CharField(max_length=1024, blank=True, default="", db_default="")
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=64)
    # The job whose items the reviewed answers join as human labels (training data).
    dataset_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="fed_by_flows"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="flows_created")
    created_at = models.DateTimeField(auto_now_add=True)
    # Counters kept by the services so the dashboard never counts rows.
    predictions_total = models.PositiveIntegerField(default=0)
    predictions_reviewed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(sample_percent__isnull=True)
                | (Q(sample_percent__gte=0.01) & Q(sample_percent__lte=100)),
                name="flow_sample_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def workers_per_loop(self) -> int:
        return self.job.workers_per_item


class HumanLoop(models.Model):
    """One prediction (or StartHumanLoop input) under human review: one item of the flow's job."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="loops")
    # Unique across the instance (and so per flow): the runtime API finds a loop by name only.
    name = models.CharField(max_length=NAME_MAX_CHARS, unique=True)
    # Gone once the loop stopped or failed: the item leaves the pool with it.
    item = models.OneToOneField(
        Item, on_delete=models.SET_NULL, null=True, blank=True, related_name="human_loop"
    )
    status = models.CharField(
        max_length=16, choices=HumanLoopStatus.choices, default=HumanLoopStatus.IN_PROGRESS
    )
    # The input content exactly as received (a JSON text).
    input_content = models.TextField()
    # DataAttributes.ContentClassifiers as declared at the start (FreeOf… names).
    content_classifiers = models.JSONField(default=list, blank=True)
    model_label = models.CharField(max_length=200, blank=True)
    model_confidence = models.FloatField(null=True, blank=True)
    # Which model made the prediction (optional): monitoring estimates are per version.
    model_name = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    # Why routing sent it to people ("condition", "sample", "condition+sample"); empty when it
    # was started directly (StartHumanLoop). Only "sample" loops are the random audit.
    route_reason = models.CharField(max_length=32, blank=True)
    # When the model predicted (the routing call's time unless the client said): a late
    # label counts in the window of its prediction.
    predicted_at = models.DateTimeField(null=True, blank=True)
    human_label = models.CharField(max_length=200, blank=True)
    # Whether the consolidated human answer agrees with the model's label (null: no model label).
    agrees = models.BooleanField(null=True, blank=True)
    failure_reason = models.CharField(max_length=1024, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    output = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["flow", "status", "created_at"], name="loop_flow_status_time"),
            models.Index(fields=["flow", "created_at", "id"], name="loop_flow_time"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status=HumanLoopStatus.IN_PROGRESS),
                name="loop_in_progress_expiry",
            ),
            models.Index(fields=["flow", "completed_at"], name="loop_flow_completed"),
            models.Index(
                fields=["flow", "model_version", "completed_at"],
                condition=Q(status=HumanLoopStatus.COMPLETED),
                name="loop_flow_version_done",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class HumanLoopStatusChange(models.Model):
    """One row per move of a loop's status: when, from, to and why."""

    loop = models.ForeignKey(HumanLoop, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=16, choices=HumanLoopStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=HumanLoopStatus.choices)
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]


class Prediction(models.Model):
    """A model's prediction posted to a flow and the routing decision, once per prediction id."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="predictions")
    prediction_id = models.CharField(max_length=200)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    # Why it went to review: "condition", "sample" or both; empty when accepted.
    reason = models.CharField(max_length=32, blank=True)
    label = models.CharField(max_length=200, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    # When the model predicted, if the client said (else created_at, when it was routed).
    predicted_at = models.DateTimeField(null=True, blank=True)
    loop_name = models.CharField(max_length=NAME_MAX_CHARS, blank=True)
    # Which request inserted the row: a repeat of the id finds a row with another token.
    request_token = models.UUIDField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "prediction_id"], name="prediction_once"),
        ]
        indexes = [models.Index(fields=["flow", "created_at"], name="prediction_flow_time")]


class WebhookDelivery(models.Model):
    """One event to send to a flow's webhook; sent (and retried) by a Celery task."""

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="deliveries")
    loop = models.ForeignKey(
        HumanLoop, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    url = models.URLField(max_length=500)
    # The exact bytes sent (and signed), as text.
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One delivery of each event per loop: a repeated event never sends twice.
            models.UniqueConstraint(fields=["loop", "event"], name="delivery_once_per_loop_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=DeliveryStatus.PENDING),
                name="delivery_pending_due",
            ),
            models.Index(fields=["flow", "-created_at"], name="delivery_flow_time"),
        ]


class WebhookAttempt(models.Model):
    """One try at sending a delivery, written before the request leaves; the retry reason
    of every attempt after the first says why the delivery was sent again."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    retry_reason = models.CharField(max_length=300, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_once"),
        ]
        ordering = ["delivery_id", "number"]


class AccessKey(models.Model):
    """A key pair for the runtime API's SigV4 signatures. SigV4 needs the secret itself on
    the verifying side, so it is stored, encrypted (workflows/crypto.py); revoking a key ends
    it at once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_keys")
    access_key_id = models.CharField(max_length=32, unique=True)
    # Fernet's token of the secret; the secret itself is shown once, when the key is issued.
    secret_encrypted = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="access_key_user")]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class MonitorConfig(models.Model):
    """How a flow's model quality is watched (docs/monitoring.md); defaults when absent."""

    flow = models.OneToOneField(Flow, on_delete=models.CASCADE, related_name="monitor")
    # Alert when accuracy is below baseline - tolerance; the detector is tuned to see a further
    # drop of design_drop fastest.
    tolerance = models.FloatField(default=0.02)
    design_drop = models.FloatField(default=0.05)
    # The false-alarm rate: at most one per this many audited labels on average.
    false_alarm_labels = models.PositiveIntegerField(default=50_000)
    calibration_tolerance = models.FloatField(default=0.05)
    # While an alert is open the flow's audit share is this (and back to the saved one after).
    boosted_sample_percent = models.FloatField(null=True, blank=True)
    saved_sample_percent = models.FloatField(null=True, blank=True)
    sample_boosted = models.BooleanField(default=False)
    # The share the boost set; when the alert clears the saved share comes back only if the
    # flow still audits this one (a manager's change meanwhile is kept).
    boosted_to = models.FloatField(null=True, blank=True)
    # Retraining: on an alert, and/or once this many new reviewed labels arrived.
    retrain_on_alert = models.BooleanField(default=False)
    retrain_after_labels = models.PositiveIntegerField(null=True, blank=True)
    retrained_at = models.DateTimeField(null=True, blank=True)
    # Ground truth: where (a local path or s3:// URI prefix) and how often.
    ground_truth_uri = models.CharField(max_length=500, blank=True)
    ground_truth_every_seconds = models.PositiveIntegerField(null=True, blank=True)
    ground_truth_exported_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)


class ModelBaseline(models.Model):
    """The accuracy a model version is expected to keep, and where that figure came from."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="baselines")
    model_version = models.CharField(max_length=100, blank=True)
    accuracy = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    source = models.CharField(max_length=16, choices=BaselineSource.choices)
    # The validation metrics posted with the version (any JSON object), or the first window's.
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "model_version"], name="baseline_once"),
        ]


class QualityAlert(models.Model):
    """One episode of a drift detector crossing its threshold, until the evidence recovers."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="quality_alerts")
    model_version = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    # The human loop whose label made the detector fire: with the flow, version and kind it
    # names the episode, so re-evaluating the stream never opens it twice.
    fired_by_loop_id = models.PositiveBigIntegerField()
    # The prediction-time window (start, size) where the evidence of the drop begins.
    window_start = models.DateTimeField()
    window = models.CharField(max_length=8, default="hour")
    estimate = models.FloatField()
    bound = models.FloatField()
    baseline = models.FloatField()
    threshold = models.FloatField()
    labels = models.PositiveIntegerField()
    most_confused = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "model_version", "kind", "fired_by_loop_id"], name="alert_once"
            ),
        ]
        indexes = [models.Index(fields=["flow", "-opened_at"], name="alert_flow_time")]


class JobQualityAlert(models.Model):
    """One episode of the detector watching a job's automated labels over their audits
    (accuracy below the accuracy the audits promised), until the evidence recovers."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="quality_alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices, default=AlertKind.AUTO_LABELS)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    # The audited item whose human label made the detector fire: with the job and kind it
    # names the episode, so re-evaluating never opens it twice.
    fired_by_item_id = models.PositiveBigIntegerField()
    # When the stretch of evidence begins (its first human label).
    started_at = models.DateTimeField()
    estimate = models.FloatField()
    bound = models.FloatField()
    baseline = models.FloatField()
    threshold = models.FloatField()
    labels = models.PositiveIntegerField()
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "kind", "fired_by_item_id"], name="job_alert_once"
            ),
        ]
        indexes = [models.Index(fields=["job", "-opened_at"], name="job_alert_time")]
