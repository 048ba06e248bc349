"""Reads of data in and out: an import's state with its live progress."""

from typing import Any

from django.core.cache import cache

from labeling.data.services.import_lifecycle import progress_key
from labeling.models import ImportRun, JobOutput, StorageWrite
from labeling.states import ImportStatus


def import_progress(*, run: ImportRun) -> dict[str, Any]:
    """An import's state, with live progress from the cache while it runs."""
    live = cache.get(progress_key(run.pk)) if run.status == ImportStatus.RUNNING else None
    if run.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
        fraction = 1.0
    elif live and live.get("total"):
        share = live["done"] / live["total"]
        fraction = share * 0.5 + (0.5 if live["phase"] == "storing" else 0.0)
    else:
        fraction = 0.0
    return {
        "phase": live["phase"] if live else run.status,
        "fraction": round(min(fraction, 1.0), 4),
    }


def job_output_pending(*, job_id: int) -> bool:
    """Whether a job writes an output (S3OutputPath) whose final manifest is not written yet."""
    return JobOutput.objects.filter(job_id=job_id, finished_at__isnull=True).exists()


def storage_writes_pending(*, uris: list[str]) -> set[str]:
    """Those of ``uris`` whose outbox write has not reached the store yet."""
    if not uris:
        return set()
    return set(
        StorageWrite.objects.filter(uri__in=uris, written_at__isnull=True).values_list(
            "uri", flat=True
        )
    )
