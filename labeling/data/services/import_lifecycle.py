"""An import run's life around its work: queued (its Celery message), ended (its progress and
staged files cleaned up, subscribers told), and recovered when its worker was lost: a run
whose lease ran out is queued again or failed after its last attempt, and a queued run whose
message was lost is sent again (the sweep, ``labeling.imports_sweep``, finds them). The work
itself, checking and storing, is ``imports.py``'s."""

import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from labeling.after_commit import on_commit_safely, run_safely
from labeling.events import import_finished, publish_on_commit
from labeling.models import ImportRun
from labeling.states import ImportStatus

logger = logging.getLogger(__name__)

IMPORT_RUN_TASK = "labeling.import_run"
SWEEP_BATCH_SIZE = 100


def progress_key(import_id: int) -> str:
    return f"import-progress:{import_id}"


def import_resend_at(now) -> Any:
    return now + timedelta(seconds=settings.QUORUM_IMPORT_RESEND_AFTER_SECONDS)


def import_enqueue(run: ImportRun) -> None:
    # By name: the task module imports this one, never the other way.
    # Never fails the upload: a run whose message was lost is sent again by the periodic sweep.
    on_commit_safely(
        current_app.signature(IMPORT_RUN_TASK, args=(run.pk,)).delay,
        what=f"enqueueing import {run.pk}",
    )


def import_ended(run: ImportRun, status: str) -> None:
    """After a run ended (on commit): its progress and staged files go, subscribers hear."""
    staged = Path(run.staged_path)

    def clean_up() -> None:
        # Progress lives in the cache: a cache outage loses it, never the import's outcome.
        run_safely(
            lambda: cache.delete(progress_key(run.pk)), what=f"clearing import {run.pk}'s progress"
        )
        if staged.is_dir():
            shutil.rmtree(staged, ignore_errors=True)
        else:
            staged.unlink(missing_ok=True)

    # On commit: a worker killed before its store commits must leave the staged file for
    # the run that follows.
    on_commit_safely(clean_up, what=f"cleaning up import {run.pk}")
    publish_on_commit(import_finished, job_id=run.job_id, import_id=run.pk, status=status)


def import_recover(*, import_id: int, now=None) -> str:
    """Deal with a run whose lease ran out: queue it again, or fail it after the last attempt.

    A queued run whose time to start has passed had its message lost (a broker restart):
    it is sent again. Returns what was done: "rerun", "failed", "resent" or "" (nothing).
    """
    now = now or timezone.now()
    run = (
        ImportRun.objects.filter(pk=import_id, lease_expires_at__lt=now)
        .only("id", "job_id", "status", "attempts", "lease_token", "phase", "staged_path")
        .first()
    )
    if run is None:
        return ""
    if run.status == ImportStatus.QUEUED:
        resent = ImportRun.objects.filter(
            pk=run.pk, status=ImportStatus.QUEUED, lease_expires_at__lt=now
        ).update(lease_expires_at=import_resend_at(now))
        if resent:
            import_enqueue(run)
        return "resent" if resent else ""
    if run.status != ImportStatus.RUNNING:
        return ""
    lost = ImportRun.objects.filter(
        pk=run.pk,
        status=ImportStatus.RUNNING,
        lease_token=run.lease_token,
        lease_expires_at__lt=now,
    )
    doing = run.phase or "running"
    attempts = settings.QUORUM_IMPORT_MAX_ATTEMPTS
    if run.attempts >= attempts:
        message = (
            f"the worker was lost {run.attempts} time(s), the last while {doing}; nothing was "
            "imported — import the file again"
        )
        with transaction.atomic():
            if not lost.update(
                status=ImportStatus.FAILED,
                message=message,
                finished_at=now,
                lease_token="",
                lease_expires_at=None,
                phase="",
            ):
                return ""
            import_ended(run, ImportStatus.FAILED)
        logger.warning("import %s failed: %s", run.pk, message)
        return "failed"
    message = (
        f"the worker was lost while {doing} (attempt {run.attempts} of {attempts}); "
        "running it again from the start"
    )
    with transaction.atomic():
        if not lost.update(
            status=ImportStatus.QUEUED,
            message=message,
            lease_token="",
            lease_expires_at=import_resend_at(now),
            phase="",
        ):
            return ""
        import_enqueue(run)
    logger.warning("import %s: %s", run.pk, message)
    return "rerun"


def imports_sweep(*, now=None) -> dict[str, int]:
    """Periodic: run again (or fail) imports whose worker was lost; resend lost messages."""
    now = now or timezone.now()
    due = list(
        ImportRun.objects.filter(
            status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING], lease_expires_at__lt=now
        )
        .order_by("lease_expires_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH_SIZE]
    )
    counts = {"rerun": 0, "failed": 0, "resent": 0}
    for import_id in due:
        done = import_recover(import_id=import_id, now=now)
        if done:
            counts[done] += 1
    return counts
