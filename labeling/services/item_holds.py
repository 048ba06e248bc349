"""Items held out of the claim queue, and items taken out of a job's work without a label.

Issue 16 (pipelines' pre-annotation hooks): an imported item of a job with a pre-annotation
hook is *held* until its hook answers; then it is released to the queue, or leaves the job's
work as *failed* (the hook failed for good: the managed service's FailedNonRetryableError) or
*no_human* (the hook said no human is needed). An item that leaves is taken out of the job's
count of items (``items_added`` −1), so the job still completes when the others are labeled.
"""

from collections.abc import Iterable

from django.db import transaction

from labeling.models import Item
from labeling.services.counters import job_counters_add
from labeling.services.jobs import job_complete_if_done
from labeling.states import ItemStatus

LEAVING_STATUSES = (ItemStatus.FAILED, ItemStatus.NO_HUMAN)


def items_hold_imported(*, job_id: int, import_id: int) -> int:
    """Hold the open items an import run stored (inside the import's transaction)."""
    return Item.objects.filter(
        job_id=job_id, import_run_id=import_id, status=ItemStatus.OPEN, taken=0
    ).update(status=ItemStatus.HELD)


def items_release(*, job_id: int, item_ids: Iterable[int]) -> int:
    """Offer held items to labelers; return how many were released."""
    return Item.objects.filter(job_id=job_id, pk__in=list(item_ids), status=ItemStatus.HELD).update(
        status=ItemStatus.OPEN
    )


def items_leave(*, job_id: int, item_ids: Iterable[int], status: str) -> int:
    """Take held or open items without a label out of the job's work as ``status`` (failed or
    no_human); return how many left. The job completes when the rest are labeled."""
    if status not in LEAVING_STATUSES:
        raise ValueError(f"items leave as one of {LEAVING_STATUSES}, not {status!r}")
    with transaction.atomic():
        left = Item.objects.filter(
            job_id=job_id,
            pk__in=list(item_ids),
            status__in=(ItemStatus.HELD, ItemStatus.OPEN),
            consolidated__isnull=True,
        ).update(status=status)
        if left:
            job_counters_add(
                job_id=job_id, shard_key=job_id, items_labeled=0, answers=0, items_added=-left
            )
            job_complete_if_done(job_id=job_id)
    return left
