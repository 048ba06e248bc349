"""Data of automated labeling: per-job settings, held-out items, rounds, models, audits."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from active_learning.states import ROUND_PENDING, AuditStatus, RoundStatus, RoundTrigger
from labeling.models import Item, Job, User


class LearnerKind(models.TextChoices):
    AUTO = "auto", "Chosen by the task type"
    TEXT_TFIDF = "text-tfidf", "Text: TF-IDF word and character n-grams, logistic regression"
    TEXT_EMBEDDING = "text-embedding", "Text: MiniLM sentence embeddings, logistic regression"
    IMAGE_CNN = "image-cnn", "Images: a small convolutional network"
    # Issue 19: box and mask jobs.
    IMAGE_DETECTOR = "image-detector", "Image boxes: a small centre-heatmap detector"
    IMAGE_SEGMENTER = "image-segmenter", "Image masks: a small U-Net"


class AutoLabeling(models.Model):
    """A job's automated-labeling settings and the lease that lets one training run at a time."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="auto_labeling")
    enabled = models.BooleanField(default=True)
    target_accuracy = models.FloatField(
        default=0.95, validators=[MinValueValidator(0.5), MaxValueValidator(0.999)]
    )
    # One minus the confidence level of the accuracy bound the threshold must clear.
    alpha = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.5)]
    )
    # Items humans may label (see services/budget.py for what counts); None: no limit.
    human_budget = models.PositiveIntegerField(null=True, blank=True)
    # When the human labels reached the budget and the last round was queued.
    budget_spent_at = models.DateTimeField(null=True, blank=True)
    strategy = models.CharField(max_length=32, default="margin")
    learner = models.CharField(max_length=32, choices=LearnerKind.choices, default="auto")
    validation_size = models.PositiveIntegerField(default=200)
    # After a round auto-labels, draw fresh held-out items from those still waiting so the
    # slice keeps its size (costs human labels; lets later rounds judge hard items).
    validation_refill = models.BooleanField(default=False)
    round_every = models.PositiveIntegerField(default=50, validators=[MinValueValidator(1)])
    # A round also waits for this share of the labels the last one had: rounds come further
    # apart as labels grow, so the total training cost stays a bounded multiple (1 + 1/g) of
    # the last round's instead of growing with the square of the labels.
    round_growth = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(10.0)]
    )
    min_training_labels = models.PositiveIntegerField(default=20)
    preannotate = models.BooleanField(default=False)
    # Box and mask jobs (issue 19): the mean IoU the auto-labels must reach; None: the task
    # type's default (0.6 boxes, 0.7 masks).
    target_mean_iou = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.05), MaxValueValidator(0.999)]
    )
    # Set when an audit found the auto-labels below the target: no more auto-labels.
    stopped_reason = models.CharField(max_length=500, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Human labels counted when the last round was queued (the debounce of new rounds).
    labels_at_last_round = models.PositiveIntegerField(default=0)
    # The training lease: whoever holds an unexpired token may train and write for the job.
    lease_token = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["enabled"], name="autolabel_enabled")]

    @property
    def may_auto_label(self) -> bool:
        return self.enabled and not self.stopped_reason


class HeldOutItem(models.Model):
    """An item of the random validation slice: always labeled by humans, never chosen by a
    model, never shown with a suggestion; the threshold is picked on these alone.

    When a round auto-labels, the held-out items its model would have labeled are marked with
    that round and the label it would have given: later rounds judge the job's auto-labels
    as a whole, the marked items by those labels and the unmarked ones by the new model
    (see ``services/training.py``).
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="held_out")
    would_label_round = models.PositiveIntegerField(null=True, blank=True)
    # The label (and value) that round's model would have given; "" on rows marked before
    # it was stored, and on box and mask jobs.
    would_label = models.CharField(max_length=200, blank=True, default="")
    would_label_value = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "item"], name="heldout_job_item")]


class ModelArtifact(models.Model):
    """One trained model of a job: a versioned file under MEDIA_ROOT and what it achieved."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=32, choices=LearnerKind.choices)
    path = models.CharField(max_length=500)  # relative to MEDIA_ROOT
    classes = models.JSONField(default=list)
    # {"validation_accuracy", "training_accuracy", "covered", "correct", "lower_bound", ...}
    metrics = models.JSONField(default=dict)
    threshold = models.FloatField(null=True, blank=True)
    training_size = models.PositiveIntegerField()
    validation_size = models.PositiveIntegerField()
    training_seconds = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "version"], name="artifact_job_version"),
        ]


class TrainingRound(models.Model):
    """One round of the loop: train, pick the threshold, auto-label, reorder the human queue."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=RoundStatus.choices, default=RoundStatus.QUEUED
    )
    trigger = models.CharField(max_length=16, choices=RoundTrigger.choices)
    message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    human_labels = models.PositiveIntegerField(default=0)  # when queued
    artifact = models.ForeignKey(
        ModelArtifact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    threshold = models.FloatField(null=True, blank=True)
    validation_size = models.PositiveIntegerField(default=0)
    validation_accuracy = models.FloatField(null=True, blank=True)
    lower_bound = models.FloatField(null=True, blank=True)
    auto_labeled = models.PositiveIntegerField(default=0)
    reprioritized = models.PositiveIntegerField(default=0)
    # The job after the round: items labeled by humans and by models, of how many.
    items_total = models.PositiveIntegerField(default=0)
    items_human = models.PositiveIntegerField(default=0)
    items_auto = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="round_job_number"),
            # Debounce and "one training per job": a second pending round cannot exist.
            models.UniqueConstraint(
                fields=["job"], condition=Q(status__in=ROUND_PENDING), name="round_one_pending"
            ),
        ]
        ordering = ["job", "number"]

    @property
    def share_auto_labeled(self) -> float | None:
        return self.items_auto / self.items_total if self.items_total else None


class RoundStatusChange(models.Model):
    """One row per move of a round's status."""

    round = models.ForeignKey(TrainingRound, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, choices=RoundStatus.choices)
    to_status = models.CharField(max_length=16, choices=RoundStatus.choices)
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]


class Audit(models.Model):
    """A random sample of auto-labeled items sent back to humans to measure their accuracy."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=AuditStatus.choices, default="open")
    sample_size = models.PositiveIntegerField()
    promised_accuracy = models.FloatField()
    answered = models.PositiveIntegerField(default=0)
    agreed = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Box and mask jobs (issue 19): "mean-iou", promised_accuracy is then the promised mean
    # IoU, agreed counts items whose IoU reached it, iou_sum the answered items' IoUs.
    metric = models.CharField(max_length=16, default="accuracy")
    iou_sum = models.FloatField(default=0.0)
    iou_lower_bound = models.FloatField(null=True, blank=True)

    @property
    def measured_accuracy(self) -> float | None:
        return self.agreed / self.answered if self.answered else None

    @property
    def measured_mean_iou(self) -> float | None:
        if self.metric != "mean-iou" or not self.answered:
            return None
        return self.iou_sum / self.answered


class AutoLabel(models.Model):
    """What a model said of an item it labeled; kept when an audit sends the item to humans."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="auto_label")
    round = models.ForeignKey(TrainingRound, on_delete=models.CASCADE, related_name="+")
    artifact = models.ForeignKey(ModelArtifact, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=200)
    # The label value as stored (multi-label: the set, with each label's probability).
    value = models.JSONField(default=dict)
    confidence = models.FloatField()
    audit = models.ForeignKey(
        Audit, on_delete=models.SET_NULL, null=True, blank=True, related_name="auto_labels"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["job", "audit"], name="autolabel_job_audit")]


class Suggestion(models.Model):
    """The latest model's suggestion for an item still waiting for humans (pre-annotation)."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="suggestion")
    artifact = models.ForeignKey(ModelArtifact, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=200)
    value = models.JSONField(default=dict)
    confidence = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["job", "item"], name="suggestion_job_item")]
