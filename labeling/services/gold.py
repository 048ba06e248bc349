"""Gold items: known answers mixed into workers' queues, scored, and the pause they lead to.

A gold item is an ordinary item of the job with a ``GoldItem`` row beside it. It is labeled
from the start (its known answer is its label, method ``gold``), so the claim's queue of
open items never offers it; it comes to a worker only through :func:`gold_claim`, at the
job's gold rate, and is leased, shown and submitted exactly like any other item: nothing a
labeler receives says it is gold.
"""

import json
import random

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from labeling.errors import NotAllowed, NotFound, ValidationFailed
from labeling.models import (
    Assignment,
    ConsolidatedLabel,
    GoldItem,
    GoldPurpose,
    Item,
    Job,
    Qualification,
    User,
    WorkerQuality,
)
from labeling.services.counters import job_counters_add
from labeling.services.manager_labels import ManagerLabel, manager_label_parse
from labeling.services.quality import quality_request_reestimate
from labeling.states import ASSIGNMENT_HOLDS_ITEM, ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import SourceProblem

MAX_GOLD_PER_REQUEST = 5000
# Item.taken and Item.answers are small integers: a gold item retires before they overflow.
GOLD_MAX_TAKEN = 32_000


def _make_gold(
    job: Job, item: Item, known: ManagerLabel, purpose: str = GoldPurpose.QUEUE
) -> GoldItem:
    gold = GoldItem.objects.create(item=item, job=job, label=known.label, purpose=purpose)
    ConsolidatedLabel.objects.update_or_create(
        item=item,
        defaults={
            "job": job,
            "label": known.label,
            "value": known.value,
            "confidence": 1.0,
            "method": "gold",
            "human_annotated": True,
            "answers_count": 0,
        },
    )
    return gold


def gold_items_add(
    *, job: Job, entries: list[dict], purpose: str = GoldPurpose.QUEUE
) -> list[GoldItem]:
    """Import gold items: ``[{"data": {...the item line...}, "label": "..."}, ...]``.

    The known label is kept apart from the item's data, so it never reaches a labeler.
    ``purpose`` says whether they are mixed into queues or make the qualification test.
    """
    if purpose not in GoldPurpose.values:
        raise ValidationFailed(f"purpose is one of {', '.join(GoldPurpose.values)}")
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed("send a non-empty list of gold items")
    if len(entries) > MAX_GOLD_PER_REQUEST:
        raise ValidationFailed(f"at most {MAX_GOLD_PER_REQUEST} gold items per request")
    task_type = get_task_type(job.task_type)
    checked = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            raise ValidationFailed(f'gold item {position} needs "data" (an object) and "label"')
        try:
            task_type.check_source(entry["data"])
        except SourceProblem as exc:
            raise ValidationFailed(f"gold item {position}: {exc}") from None
        data = json.dumps(entry["data"])
        try:
            known = manager_label_parse(job=job, label=entry.get("label"), item_data=data)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"gold item {position}: {exc.message}", details=exc.details, code=exc.code
            ) from None
        checked.append((data, known))
    with transaction.atomic():
        golds = []
        for data, known in checked:
            item = Item.objects.create(job=job, data=data, status=ItemStatus.LABELED)
            golds.append(_make_gold(job, item, known, purpose))
        Job.objects.filter(pk=job.pk).update(items_total=F("items_total") + len(golds))
        job_counters_add(job_id=job.pk, shard_key=0, items_labeled=len(golds), answers=0)
    return golds


def gold_item_mark(*, job: Job, item_id: int, label: str) -> GoldItem:
    """Make an existing item of the job gold, with its known answer (checked by the job's
    task type like a worker's answer)."""
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(pk=item_id, job_id=job.pk).first()
        if item is None:
            raise NotFound(f"there is no item {item_id} in this job")
        known = manager_label_parse(job=job, label=label, item_data=item.data)
        if GoldItem.objects.filter(item=item).exists():
            GoldItem.objects.filter(item=item).update(label=known.label)
            ConsolidatedLabel.objects.filter(item=item).update(label=known.label, value=known.value)
            return GoldItem.objects.get(item=item)
        if item.status == ItemStatus.OPEN:
            Item.objects.filter(pk=item.pk).update(status=ItemStatus.LABELED)
            job_counters_add(job_id=job.pk, shard_key=0, items_labeled=1, answers=0)
        gold = _make_gold(job, item, known)
    quality_request_reestimate(job_id=job.pk)
    return gold


def gold_claim(*, job: Job, worker: User, now, expires) -> Assignment | None:
    """Inside the claim's transaction, under the worker's lock: at the job's gold rate, lease
    a gold item the worker has not had. None means "claim an ordinary item"."""
    if job.gold_rate <= 0 or random.random() >= job.gold_rate:  # noqa: S311 - sampling only
        return None
    held = Assignment.objects.filter(
        item_id=OuterRef("item_id"), worker_id=worker.pk, status__in=ASSIGNMENT_HOLDS_ITEM
    )
    gold = (
        GoldItem.objects.filter(
            job_id=job.pk, purpose=GoldPurpose.QUEUE, item__taken__lt=GOLD_MAX_TAKEN
        )
        .filter(~Exists(held))
        .order_by("?")
        .values_list("item_id", flat=True)
        .first()
    )
    if gold is None:
        return None
    # taken counts leases and answers on gold items too (answers <= taken holds), unbounded.
    Item.objects.filter(pk=gold).update(taken=F("taken") + 1)
    item = Item.objects.only("id", "data", "job_id").get(pk=gold)
    assignment = Assignment.objects.create(
        job=job, item=item, worker=worker, leased_at=now, expires_at=expires
    )
    return assignment


def gold_score_answer(*, job_id: int, worker_id: int, correct: bool) -> WorkerQuality:
    """Count a worker's answer to a gold item; pause them below the job's bar."""
    quality, _ = WorkerQuality.objects.get_or_create(job_id=job_id, worker_id=worker_id)
    WorkerQuality.objects.filter(pk=quality.pk).update(
        gold_answers=F("gold_answers") + 1, gold_correct=F("gold_correct") + int(correct)
    )
    quality.refresh_from_db(fields=["gold_answers", "gold_correct", "paused"])
    job = Job.objects.only("gold_min_answers", "gold_pause_below").get(pk=job_id)
    accuracy = quality.gold_accuracy
    if (
        not quality.paused
        and job.gold_pause_below is not None
        and quality.gold_answers >= job.gold_min_answers
        and accuracy < job.gold_pause_below
    ):
        reason = (
            f"You are paused on this job: {accuracy:.0%} of your answers to check questions "
            f"were right, below the {job.gold_pause_below:.0%} this job asks for. "
            "Please read the instructions again; a manager can let you resume."
        )
        WorkerQuality.objects.filter(pk=quality.pk, paused=False).update(
            paused=True, paused_reason=reason, paused_at=timezone.now()
        )
        quality.paused, quality.paused_reason = True, reason
        quality_request_reestimate(job_id=job_id)  # their answers may leave consolidation
    return quality


def worker_check_may_lease(*, job: Job, worker: User) -> None:
    """Refuse a lease to a worker who has not passed the job's qualification test, or who is
    paused on the job (only jobs with a gold bar pause). Free for jobs with neither."""
    if job.qualification_pass_mark is not None and not _qualified(job, worker):
        raise NotAllowed(
            "pass this job's qualification test before working on it",
            code="qualification_required",
        )
    if job.gold_pause_below is None:
        return
    reason = (
        WorkerQuality.objects.filter(job_id=job.pk, worker_id=worker.pk, paused=True)
        .values_list("paused_reason", flat=True)
        .first()
    )
    if reason is not None:
        raise NotAllowed(reason or "you are paused on this job", code="paused_on_job")


def _qualified(job: Job, worker: User) -> bool:
    return Qualification.objects.filter(job_id=job.pk, worker_id=worker.pk, passed=True).exists()


def worker_resume(*, job: Job, worker: User) -> None:
    """A manager lets a paused worker back on the job; their gold count starts afresh."""
    WorkerQuality.objects.filter(job_id=job.pk, worker_id=worker.pk).update(
        paused=False, paused_reason="", paused_at=None, gold_answers=0, gold_correct=0
    )
    quality_request_reestimate(job_id=job.pk)
