"""Models of label quality: gold items, worker reliability, a job's last re-estimation."""

from django.db import models
from django.db.models import Q

from labeling.models.core import ConsolidationMethod, Item, Job, User


class GoldPurpose(models.TextChoices):
    QUEUE = "queue", "Mixed into the queue"
    QUALIFICATION = "qualification", "Qualification test"


class GoldItem(models.Model):
    """An item whose answer is known: mixed into queues, never shown as gold, scored; or a
    question of the job's qualification test (never mixed into queues)."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="gold")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="gold_items")
    label = models.CharField(max_length=200)
    purpose = models.CharField(
        max_length=16, choices=GoldPurpose.choices, default=GoldPurpose.QUEUE
    )
    # Its place in the queue among the job's items (an item id); null: its own id. Gold
    # imported after the items takes a random place among them rather than the end.
    queue_position = models.BigIntegerField(null=True, blank=True)
    # Drawing and span jobs (issue 19): the known answer, a parsed answer of the job's task
    # type (or a consolidated value, for items marked gold from their label); {} otherwise.
    answer = models.JSONField(default=dict, blank=True, db_default={})
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["job", "id"], name="gold_job_id")]


class WorkerQuality(models.Model):
    """One worker on one job: estimated reliability, gold score, and whether they are paused."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="worker_quality")
    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="quality")
    answers = models.PositiveIntegerField(default=0)
    # From the last EM run (null until one ran): expected share right, K x K confusion rows.
    estimated_accuracy = models.FloatField(null=True, blank=True)
    confusion = models.JSONField(default=list, blank=True)
    # Multi-label jobs: per label, {"sensitivity": [...], "specificity": [...]} (one float
    # per job label, P(yes | present) and P(no | absent)) from the multi-label EM.
    label_reliability = models.JSONField(default=dict, blank=True)
    agreement = models.FloatField(null=True, blank=True)
    # Drawing and span jobs (issue 19): how alike the worker's answers are to their items'
    # answers consolidated without them (leave-one-out), shrunk toward the job's mean for a
    # worker with few answers; the weight of their answers in consolidation.
    shape_reliability = models.FloatField(null=True, blank=True)
    estimated_at = models.DateTimeField(null=True, blank=True)
    gold_answers = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    # The sum of the gold answers' scores: 1/0 per classification answer, the similarity to
    # the known answer for drawing and span types (issue 19); mean score = sum / gold_answers.
    gold_score_sum = models.FloatField(default=0.0, db_default=0.0)
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=300, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "worker"], name="worker_quality_unique"),
            models.CheckConstraint(
                condition=Q(gold_correct__lte=models.F("gold_answers")),
                name="worker_quality_gold_correct_le_answers",
            ),
        ]

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None

    @property
    def gold_mean_score(self) -> float | None:
        return self.gold_score_sum / self.gold_answers if self.gold_answers else None


class JobQualityEstimate(models.Model):
    """The last finished re-estimation of a job: class priors, agreement, which method ran."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="quality_estimate")
    method_in_use = models.CharField(max_length=16, choices=ConsolidationMethod.choices)
    priors = models.JSONField(default=list)
    answers_used = models.PositiveIntegerField(default=0)
    overlapping_items = models.PositiveIntegerField(default=0)
    workers = models.PositiveIntegerField(default=0)
    alpha = models.FloatField(null=True, blank=True)
    kappa = models.FloatField(null=True, blank=True)
    per_label = models.JSONField(default=dict)
    labels_changed = models.PositiveIntegerField(default=0)
    # EM's iterations, and whether it started from the previous run's estimates.
    iterations = models.PositiveIntegerField(default=0)
    warm_start = models.BooleanField(default=False)
    seconds = models.FloatField(default=0.0)
    computed_at = models.DateTimeField()
