"""Models of data in and out: import runs and their kinds."""

from django.db import models
from django.db.models import Q

from labeling.models.core import Job, User
from labeling.states import ImportStatus


class ImportKind(models.TextChoices):
    MANIFEST = "manifest", "JSON Lines manifest"
    IMAGES = "images", "Image files"
    VIDEOS = "videos", "Video files"


class ImportRun(models.Model):
    """One import of items into a job, run by a Celery worker; all lines or none are stored."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    staged_path = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255, blank=True)
    total_bytes = models.BigIntegerField(default=0)
    processed_bytes = models.BigIntegerField(default=0)
    lines_read = models.PositiveIntegerField(default=0)
    items_created = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    # The first errors, each {"line": n, "reason": "..."} (or "file" for image uploads).
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's lease (docs/operations.md): a running run whose lease ran out lost its
    # worker; the sweeper runs it again or, after QUORUM_IMPORT_MAX_ATTEMPTS, fails it. For a
    # queued run, the time after which its message counts as lost and is sent again.
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    lease_token = models.CharField(max_length=32, blank=True, default="", db_default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # "checking" or "storing" while running: what a lost worker was doing.
    phase = models.CharField(max_length=16, blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["job", "-created_at"], name="import_job_created"),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status__in=["queued", "running"]),
                name="import_unfinished_lease",
            ),
        ]


class JobOutput(models.Model):
    """Where a job's results are written, laid out as the managed labeling service wrote them.

    ``prefix`` is ``<S3OutputPath>/<job name>`` (an ``s3://`` URI or a media path). The writer
    (labeling/data/services/outputs.py) writes the consolidated labels with ids up to
    ``written_through`` and moves it forward only after the store took them, so an outage
    delays the output and loses nothing.
    """

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="output")
    prefix = models.CharField(max_length=1024)
    written_through = models.BigIntegerField(default=0)
    labels_written = models.PositiveIntegerField(default=0)
    manifest_written_at = models.DateTimeField(null=True, blank=True)
    # Set once the job ended and its final output.manifest is written: nothing more to do.
    finished_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(finished_at__isnull=True),
                name="job_output_unfinished",
            ),
        ]


class StorageWrite(models.Model):
    """One object that must reach storage (a review loop's output document): an outbox row,
    stored in the transaction that produced it and written (and retried) by Celery."""

    uri = models.CharField(max_length=1024, unique=True)
    body = models.BinaryField()
    content_type = models.CharField(max_length=100, default="application/json")
    created_at = models.DateTimeField(auto_now_add=True)
    written_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(written_at__isnull=True),
                name="storage_write_pending",
            ),
        ]
