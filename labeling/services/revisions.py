"""Going back (issue 14): a labeler revises an answer, a manager reopens a labeled item or a
completed job for more answers. Each change is written to the item's history."""

import json
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from labeling.after_commit import run_safely
from labeling.errors import Conflict, NotFound, ValidationFailed
from labeling.models import Annotation, ConsolidatedLabel, Item, Job, ReviewStatus, User
from labeling.services.consolidation import item_consolidate
from labeling.services.counters import job_counters_add
from labeling.services.item_events import item_event_record, label_snapshot
from labeling.services.jobs import job_complete_if_done, job_transition
from labeling.states import ItemStatus, JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem

MAX_MORE_ANSWERS = 9
REOPEN_BATCH = 5_000


def annotation_revise_refusal(*, annotation: Annotation, job: Job, now=None) -> str:
    """Why ``annotation`` can't be revised now ("" when it can): until its item is
    consolidated, or within the job's revise window; never once a reviewer has decided."""
    now = now or timezone.now()
    consolidated = ConsolidatedLabel.objects.filter(item_id=annotation.item_id).first()
    if consolidated is None:
        return ""
    if consolidated.review_status in (ReviewStatus.ACCEPTED, ReviewStatus.FIXED):
        return "a reviewer has already decided this item's label"
    if consolidated.method in ("gold", "manual"):
        return "a manager has set this item's label"
    window = job.revise_window_seconds
    if window and now - annotation.submitted_at <= timedelta(seconds=window):
        return ""
    if window:
        return f"the job allows revising an answer for {window} s after it is sent"
    return "its item is already consolidated"


def annotation_revise(*, annotation_id: int, worker: User, answer: object) -> Annotation:
    """Replace ``worker``'s answer ``annotation_id`` with ``answer``, checked by the task type
    as at submit. A consolidated item (within the job's window) is consolidated again; an item
    sent back for rework is consolidated once each of its reworked answers is revised."""
    completes = False
    with transaction.atomic():
        annotation = (
            Annotation.objects.select_for_update()
            .select_related("job")
            .filter(pk=annotation_id, worker_id=worker.pk)
            .first()
        )
        if annotation is None:
            raise NotFound(f"you have no answer {annotation_id}")
        job = annotation.job
        item = Item.objects.select_for_update().get(pk=annotation.item_id)
        refusal = annotation_revise_refusal(annotation=annotation, job=job)
        if refusal:
            raise Conflict(f"this answer can't be revised: {refusal}", code="answer_final")
        task_type = get_task_type(job.task_type)
        try:
            parsed = task_type.parse_answer(answer, list(job.labels))
            if hasattr(task_type, "check_answer_for_item"):
                task_type.check_answer_for_item(parsed.answer, json.loads(item.data))
        except AnswerProblem as exc:
            raise ValidationFailed(str(exc), details={"field": "answer"}) from None
        before = annotation.answer
        was_rework = bool(annotation.rework_reason)
        annotation.answer = parsed.answer
        annotation.label = parsed.label
        annotation.revised_at = timezone.now()
        annotation.rework_reason = ""
        annotation.save(update_fields=["answer", "label", "revised_at", "rework_reason"])
        item_event_record(
            job_id=job.pk,
            item_id=item.pk,
            kind="answer_revised",
            actor=worker,
            data={"before": before, "after": parsed.answer, "rework": was_rework},
        )
        consolidated = ConsolidatedLabel.objects.filter(item_id=item.pk).first()
        labels = list(job.labels)
        if consolidated is not None:  # within the window: the label follows the answer
            consolidated.delete()
            item_consolidate(item_id=item.pk, job_id=job.pk, task_type=job.task_type, labels=labels)
        elif (  # noqa: SIM102 - the inner call has effects; it stays apart
            was_rework
            and item.status == ItemStatus.OPEN
            and not Annotation.objects.filter(item_id=item.pk).exclude(rework_reason="").exists()
        ):
            # None: a consolidation hook takes the item over and counts it (issue 16)
            if item_consolidate(
                item_id=item.pk, job_id=job.pk, task_type=job.task_type, labels=labels
            ):
                job_counters_add(job_id=job.pk, shard_key=worker.pk, items_labeled=1, answers=0)
                completes = True
    if completes:
        run_safely(lambda: job_complete_if_done(job_id=job.pk), what=f"completing job {job.pk}")
    return annotation


def _claim_slots(job: Job) -> int:
    if job.min_workers_per_item and job.target_confidence is not None:
        return min(job.min_workers_per_item, job.workers_per_item)
    return job.workers_per_item


def item_unlabel(
    *, job: Job, item: Item, by: User | None, kind: str, more: int = 0, data: dict | None = None
) -> None:
    """Take a labeled item's label away and open it again (inside the caller's transaction,
    with ``item`` locked): ``more`` answers beyond those it has, or (0) none, for rework."""
    consolidated = ConsolidatedLabel.objects.filter(item_id=item.pk).first()
    fields = {"status": ItemStatus.OPEN}
    if more:
        wanted = item.answers + more - _claim_slots(job)
        fields["extra_slots"] = Greatest(F("extra_slots"), wanted)
    Item.objects.filter(pk=item.pk).update(**fields)
    if consolidated is not None:
        consolidated.delete()
    if item.status == ItemStatus.LABELED:
        job_counters_add(job_id=job.pk, shard_key=item.pk, items_labeled=-1, answers=0)
    item_event_record(
        job_id=job.pk,
        item_id=item.pk,
        kind=kind,
        actor=by,
        data={"before": label_snapshot(consolidated), "more_answers": more, **(data or {})},
    )


def _check_more(more: int) -> None:
    if not 1 <= more <= MAX_MORE_ANSWERS:
        raise ValidationFailed(
            f"more_answers must be 1..{MAX_MORE_ANSWERS}", details={"field": "more_answers"}
        )


def item_reopen(*, job: Job, item_id: int, by: User, more: int = 1, reason: str = "") -> Item:
    """A manager opens a labeled item (or one waiting for rework) for ``more`` answers; a
    completed job is reopened too."""
    _check_more(more)
    if job.status == JobStatus.COMPLETED:
        job_reopen(job=job, by=by)
    elif job.status != JobStatus.IN_PROGRESS:
        raise Conflict(
            f"a {JobStatus(job.status).label.lower()} job takes no more answers",
            code="job_not_open",
        )
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(pk=item_id, job_id=job.pk).first()
        if item is None:
            raise NotFound(f"there is no item {item_id} in this job")
        in_rework = Annotation.objects.filter(item_id=item.pk).exclude(rework_reason="")
        if item.status != ItemStatus.LABELED and not in_rework.exists():
            raise Conflict("this item is still collecting answers", code="item_open")
        # An item waiting for rework (a worker who never revises) takes new answers instead.
        in_rework.update(rework_reason="")
        item_unlabel(job=job, item=item, by=by, kind="reopened", more=more,
                     data={"reason": reason[:500]})  # fmt: skip
    item.refresh_from_db()
    return item


def job_reopen(*, job: Job, by: User, more: int = 0) -> Job:
    """A completed job back in progress (for a new availability lifetime); with ``more``,
    every labeled item of it is opened for that many more answers."""
    if more:
        _check_more(more)
    now = timezone.now()
    job = job_transition(
        job=job,
        to=JobStatus.IN_PROGRESS,
        by=by,
        reason="reopened for more answers",
        finished_at=None,
        expires_at=now + timedelta(seconds=job.availability_lifetime_seconds),
    )
    if not more:
        return job
    while True:
        with transaction.atomic():
            items = list(
                Item.objects.select_for_update()
                .filter(job_id=job.pk, status=ItemStatus.LABELED)
                .order_by("id")[:REOPEN_BATCH]
            )
            if not items:
                break
            for item in items:
                item_unlabel(job=job, item=item, by=by, kind="reopened", more=more)
    return job
