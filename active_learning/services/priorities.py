"""The human queue's priority bands and the random validation slice that goes first."""

import random

from active_learning.models import AutoLabeling, HeldOutItem
from labeling.models import Item, Job
from labeling.states import ItemStatus

PRIORITY_BATCH_SIZE = 1000
# Priority bands of the human queue (the claim takes the highest first): audited items,
# then the held-out validation slice, then the rest by uncertainty, 0 … UNCERTAINTY_SCALE
# (before the first model: at random in the same range).
AUDIT_PRIORITY = 3_000_000
VALIDATION_PRIORITY = 2_000_000
UNCERTAINTY_SCALE = 1_000_000


def validation_slice_draw(*, job: Job, size: int, seed: int | None = None) -> int:
    """Hold out ``size`` random untouched items for humans, first in the queue; put the
    others in random order. ``seed`` makes it repeatable (benchmarks). Returns the count."""
    candidates = list(
        Item.objects.filter(job_id=job.pk, status=ItemStatus.OPEN, taken=0).values_list(
            "pk", flat=True
        )
    )
    chooser = random.SystemRandom() if seed is None else random.Random(seed)
    held_out = set(chooser.sample(candidates, min(size, len(candidates))))
    HeldOutItem.objects.bulk_create(
        (HeldOutItem(job_id=job.pk, item_id=item_id) for item_id in sorted(held_out)),
        batch_size=PRIORITY_BATCH_SIZE,
    )
    Item.objects.bulk_update(
        [
            Item(
                pk=item_id,
                priority=(VALIDATION_PRIORITY if item_id in held_out else 0)
                + chooser.randrange(UNCERTAINTY_SCALE),
            )
            for item_id in candidates
        ],
        ["priority"],
        batch_size=PRIORITY_BATCH_SIZE,
    )
    return len(held_out)


def validation_slice_ensure(*, job_id: int) -> int:
    """Draw the slice of a job that had no items when its loop was turned on (inside the
    caller's transaction, under the settings row lock); return how many were drawn."""
    if HeldOutItem.objects.filter(job_id=job_id).exists():
        return 0
    config = AutoLabeling.objects.get(job_id=job_id)
    return validation_slice_draw(job=Job.objects.get(pk=job_id), size=config.validation_size)
