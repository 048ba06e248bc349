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
