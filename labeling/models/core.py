"""Models of the labeling core: people, tokens, jobs, items, leases, answers, final labels."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from labeling.states import (
    ASSIGNMENT_HOLDS_ITEM,
    AssignmentStatus,
    ItemStatus,
    JobStatus,
)

MAX_WORKERS_PER_ITEM = 9


class Role(models.TextChoices):
    MANAGER = "manager", "Project manager"
    LABELER = "labeler", "Labeler"
    VENDOR_MANAGER = "vendor_manager", "Vendor manager"


class User(AbstractUser):
    """A person or a script: a manager defines jobs, a labeler answers tasks."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LABELER)

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER or self.is_superuser


class ApiToken(models.Model):
    """A user's API token, kept as the SHA-256 of the token: the token itself is shown once,
    when it is issued (labeling/services/users.py), and looked up by its hash."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="api_token")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ConsolidationMethod(models.TextChoices):
    AUTO = "auto", "EM once answers overlap enough, majority vote before"
    MAJORITY = "majority", "Majority vote"
    DAWID_SKENE = "dawid_skene", "Dawid–Skene EM (confusion matrix per worker)"
    ONE_COIN = "one_coin", "One-coin EM (one accuracy per worker)"


class ReviewMode(models.TextChoices):
    NONE = "none", "No review"
    RANDOM = "random", "A random share of the items"
    ALL = "all", "Every item"
    BELOW = "below", "Items below a confidence"


class ReviewStatus(models.TextChoices):
    NONE = "", "Not for review"
    PENDING = "pending", "Waiting for a reviewer"
    ACCEPTED = "accepted", "Accepted by a reviewer"
    FIXED = "fixed", "Fixed by a reviewer"


class Job(models.Model):
    """A labeling job: items of one task type answered by N workers of one team each."""

    name = models.CharField(max_length=200, unique=True)
    label_attribute_name = models.CharField(max_length=127)
    task_type = models.CharField(max_length=64)
    labels = models.JSONField(default=list)
    short_instructions = models.TextField(blank=True)
    full_instructions = models.TextField(blank=True)
    # [{"source": ..., "label": ..., "kind": "good"|"bad", "explanation": ...}]
    examples = models.JSONField(default=list, blank=True)
    team = models.ForeignKey("Team", on_delete=models.PROTECT, related_name="jobs")
    workers_per_item = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_WORKERS_PER_ITEM)]
    )
    task_time_limit_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(30), MaxValueValidator(8 * 3600)]
    )
    availability_lifetime_seconds = models.PositiveIntegerField(
        default=10 * 24 * 3600, validators=[MinValueValidator(60), MaxValueValidator(30 * 86400)]
    )
    max_concurrent_tasks_per_worker = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.DRAFT)
    status_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="jobs_created")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Kept by the import so that progress never counts rows; the labeled items and answers
    # are counted in JobCounter shards, which submits update without waiting on this row.
    # Items added one at a time while the job runs (review loops) are counted in the shards'
    # items_added instead: a job holds items_total + the sum of items_added.
    items_total = models.PositiveIntegerField(default=0)
    # Items keep arriving while it runs (a review flow's backing job): it does not complete
    # when every item it holds is labeled.
    open_ended = models.BooleanField(default=False)
    # Label quality (issue 5; docs/quality.md).
    consolidation_method = models.CharField(
        max_length=16, choices=ConsolidationMethod.choices, default=ConsolidationMethod.AUTO
    )
    # The personal-data rule: only a job that says so may go to a crowd or vendor team.
    data_may_leave_private = models.BooleanField(default=False)
    # False for a job that another app creates for its own objects and shows on their pages
    # (a review-loop flow's backing job): the console's jobs list leaves it out.
    listed = models.BooleanField(default=True)
    gold_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    gold_min_answers = models.PositiveSmallIntegerField(default=5)
    gold_pause_below = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    exclude_paused_answers = models.BooleanField(default=True)
    # Drawing and span jobs (issue 19): a gold answer passes when its similarity to the known
    # answer reaches this; null: the task type's default (labeling/quality/services/gold_shapes).
    gold_pass_similarity = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # Adaptive overlap: set, items start with this many slots and grow up to workers_per_item
    # while their confidence stays under target_confidence.
    min_workers_per_item = models.PositiveSmallIntegerField(null=True, blank=True)
    target_confidence = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # Crowd marketplace (issue 5; docs/workforces.md).
    reward_cents = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    qualification_pass_mark = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    # Review stage and going back (issue 14; docs/review.md).
    review_mode = models.CharField(
        max_length=8, choices=ReviewMode.choices, default=ReviewMode.NONE, db_default="none"
    )
    # The share of items a RANDOM review takes, and the confidence under which BELOW takes one.
    review_share = models.FloatField(default=0.1, db_default=0.1)
    review_below_confidence = models.FloatField(default=0.8, db_default=0.8)
    # A labeler may revise an answer until its item is consolidated, or, set, for this many
    # seconds after submitting it (the item is consolidated again then).
    revise_window_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(workers_per_item__gte=1) & Q(workers_per_item__lte=9),
                name="job_workers_per_item_1_9",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="job_status_created")]

    def __str__(self) -> str:
        return self.name


class JobCounter(models.Model):
    """One shard of a job's progress: labeled items and answers added by its submits.

    Every submit adds to the shard of its worker, so concurrent submits of a job rarely
    wait on one row; a job's progress is the sum over its shards (a handful of rows).
    """

    # Issue 20: 64, not 16: with 50 labelers submitting at once, 16 shards made about one
    # submit in three wait for another's commit on its shard row. Jobs made with fewer
    # shards get the others on first use (labeling/services/counters.py).
    SHARDS = 64

    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="counters", db_index=False
    )  # led by the (job, shard) constraint's index
    shard = models.PositiveSmallIntegerField()
    items_labeled = models.IntegerField(default=0)
    answers = models.IntegerField(default=0)
    # Items added (or, negative, withdrawn) while the job runs, beside Job.items_total.
    items_added = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "shard"], name="jobcounter_job_shard"),
        ]


class JobStatusChange(models.Model):
    """One row per move of a job's status: who, when, from, to and why."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=16, choices=JobStatus.choices)
    to_status = models.CharField(max_length=16, choices=JobStatus.choices)
    changed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]


class Item(models.Model):
    """One data object of a job, kept as the JSON line it was imported from."""

    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="items", db_index=False
    )  # led by item_job_id (job, id)
    # The input line as compact JSON text, keys in their order: exports splice onto it.
    data = models.TextField()
    priority = models.IntegerField(default=0)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    # Leases held plus answers submitted; never above the job's workers_per_item.
    taken = models.PositiveSmallIntegerField(default=0)
    answers = models.PositiveSmallIntegerField(default=0)
    # Adaptive overlap: slots given beyond the job's minimum because the answers disagree.
    extra_slots = models.PositiveSmallIntegerField(default=0, db_default=0)
    import_run = models.ForeignKey(
        "ImportRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Issue 14: a manager asked for this item to be reviewed (the data manager's bulk action
    # "send to review"); the review stage reads and clears it.
    review_requested = models.BooleanField(default=False, db_default=False)
    # Issue 14: the preview thumbnail under MEDIA_ROOT, made once by Celery ("" until then).
    thumbnail = models.CharField(max_length=300, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(answers__lte=models.F("taken")), name="item_answers_le_taken"
            ),
        ]
        indexes = [
            # The claim queue: open items of a job in priority order.
            models.Index(
                fields=["job", "-priority", "id"],
                condition=Q(status=ItemStatus.OPEN),
                name="item_claim_queue",
            ),
            models.Index(fields=["job", "id"], name="item_job_id"),
        ]


class Assignment(models.Model):
    """A worker's lease on an item; it ends as submitted, skipped, expired or released."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.LEASED
    )
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A worker holds, answers or skips an item at most once; an expired or
            # released lease does not count, so the item can come back to them.
            models.UniqueConstraint(
                fields=["item", "worker"],
                condition=Q(status__in=ASSIGNMENT_HOLDS_ITEM),
                name="assignment_one_per_worker_item",
            ),
        ]
        indexes = [
            models.Index(
                fields=["worker", "job"],
                condition=Q(status=AssignmentStatus.LEASED),
                name="assignment_active_by_worker",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(status=AssignmentStatus.LEASED),
                name="assignment_lease_expiry",
            ),
        ]


class ClaimCursor(models.Model):
    """Where a worker's claims of a job have got to in its queue: the place (priority, id) of
    the furthest open item they leased. A claim that finds nothing for the worker at the head
    of the queue carries on from here, instead of walking past every item the worker has
    already answered (issue 14 point 7; docs/claiming.md). It only moves forward."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+", db_index=False)
    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    priority = models.IntegerField()
    item_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "worker"], name="claimcursor_job_worker"),
        ]


class Annotation(models.Model):
    """One worker's answer to one item, stored with the lease it closed."""

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="annotation"
    )
    # Issue 20: no single-column indexes on job and item, each led by a composite one (job_id:
    # annotation_job_id and others; item_id: the (item, worker) constraint): every answer is an
    # insert into each index of this table.
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="annotations", db_index=False
    )
    worker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="annotations")
    answer = models.JSONField()
    # The class chosen, for classification task types (empty for others): counts and charts
    # group on this column, never on the JSON.
    label = models.CharField(max_length=200, blank=True)
    accepted_at = models.DateTimeField()
    submitted_at = models.DateTimeField()
    time_spent_seconds = models.FloatField()
    # Going back (issue 14): when the worker last revised it, and why a reviewer sent it back
    # for rework (empty: not sent back, or revised since).
    revised_at = models.DateTimeField(null=True, blank=True)
    rework_reason = models.CharField(max_length=500, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "worker"], name="annotation_one_per_worker_item"
            ),
        ]
        indexes = [
            models.Index(fields=["job", "worker"], name="annotation_job_worker"),
            models.Index(fields=["job", "submitted_at"], name="annotation_job_time"),
            # The data manager's sort on last activity walks a job's answers newest first.
            models.Index(fields=["job", "id"], name="annotation_job_id"),
        ]


class ConsolidatedLabel(models.Model):
    """The label of an item: consolidated from its answers, or given by a model."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="consolidated")
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="consolidated_labels", db_index=False
    )  # led by consolidated_job_time and the others
    value = models.JSONField()
    label = models.CharField(max_length=200, blank=True)
    confidence = models.FloatField()
    method = models.CharField(max_length=32)
    human_annotated = models.BooleanField(default=True)
    answers_count = models.PositiveSmallIntegerField(default=0)
    # Drawing and span task types (scored by similarity): the mean pairwise similarity of the
    # item's answers, stored when it is consolidated (null: one answer, another task type, or
    # consolidated before it was stored; the data manager then reads the confidence).
    agreement = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The review stage (issue 14): waiting, accepted or fixed, by whom and when.
    review_status = models.CharField(
        max_length=8, choices=ReviewStatus.choices, default="", db_default="", blank=True
    )
    reviewed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="consolidated_confidence_0_1",
            ),
        ]
        indexes = [
            models.Index(fields=["job", "created_at"], name="consolidated_job_time"),
            # The data manager's sorts on a label column walk these (labeling/console/sorting.py),
            # the label's also serves the label filter.
            models.Index(fields=["job", "label", "item"], name="consolidated_job_label"),
            models.Index(fields=["job", "confidence", "item"], name="consolidated_job_confidence"),
            models.Index(fields=["job", "human_annotated", "item"], name="consolidated_job_source"),
            # The review queue: a job's items waiting for a reviewer, lowest confidence first.
            models.Index(
                fields=["job", "confidence", "item"],
                condition=Q(review_status="pending"),
                name="consolidated_review_queue",
            ),
            # Issue 14: the data manager's "reviewed" filter (a rare value among a job's labels).
            models.Index(
                fields=["item"],
                condition=Q(method__in=("manual", "review", "reviewed"))
                | Q(review_status__in=("accepted", "fixed")),
                name="consolidated_reviewed",
            ),
        ]


class ConsolidatedLabelClass(models.Model):
    """One of the job's labels that an item's consolidated value contains, for task types
    whose value holds several (a multi-label set; boxes, polygons, masks or spans each with a
    label): the job page's per-label counts, the data manager's label filter and its label
    sort read these rows by index, never the JSON. Written with the label
    (labeling/services/label_classes.py); single-label types keep ``ConsolidatedLabel.label``
    and have no rows here."""

    consolidated = models.ForeignKey(
        ConsolidatedLabel, on_delete=models.CASCADE, related_name="classes", db_index=False
    )  # led by consolidated_class_once
    # The item and job again, so the filter and the counts need no join (kept with the label:
    # an item's label never moves to another item or job).
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+", db_index=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+", db_index=False)
    label = models.CharField(max_length=200)
    # The value's first label in code-point order, one per value (a value that holds no label
    # has one row, NO_LABEL, marked first; no job has that label, so the counts and the filter
    # never read it): the data manager's label sort walks them by (job, label, item).
    first = models.BooleanField(default=False, db_default=False)

    NO_LABEL = ""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consolidated", "label"], name="consolidated_class_once"
            ),
        ]
        indexes = [
            models.Index(fields=["job", "label", "item"], name="consolidated_class_job_label"),
            models.Index(
                fields=["job", "label", "item"],
                condition=Q(first=True),
                name="consolidated_class_job_first",
            ),
        ]
