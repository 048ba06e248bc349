"""Submitting an answer: validated, stored with the lease it closes, consolidated when due."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.errors import LeaseClosed, LeaseExpired, ValidationFailed
from labeling.models import Annotation, Item, Job, User
from labeling.services.assignments import assignment_expire, assignment_lock_for_worker
from labeling.services.consolidation import item_consolidate
from labeling.services.jobs import job_complete_if_done
from labeling.states import AssignmentStatus, ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem


def annotation_submit(*, assignment_id: int, worker: User, answer: object) -> Annotation:
    """Store ``worker``'s answer on their lease ``assignment_id``.

    Refused, with nothing stored, when the lease is someone else's, already ended, or past
    its time (then it is expired on the spot and the item goes back to the pool).
    """
    with transaction.atomic():
        assignment = assignment_lock_for_worker(assignment_id=assignment_id, worker=worker)
        job: Job = assignment.job
        now = timezone.now()
        if assignment.status != AssignmentStatus.LEASED:
            raise LeaseClosed(
                f"this task is already {assignment.status}; the answer was not stored",
                details={"status": assignment.status},
            )
        late = assignment.expires_at <= now
        if late:
            assignment_expire(assignment=assignment)
        else:
            annotation = _store_answer(assignment, job, worker, answer, now)
    if late:
        raise LeaseExpired(
            f"the lease ran out at {assignment.expires_at.isoformat()}; the answer was not "
            "stored and the item went back to the pool",
            details={"expired_at": assignment.expires_at.isoformat()},
        )
    return annotation


def _store_answer(assignment, job: Job, worker: User, answer: object, now) -> Annotation:
    try:
        parsed = get_task_type(job.task_type).parse_answer(answer, job.labels)
    except AnswerProblem as exc:
        raise ValidationFailed(str(exc), details={"field": "answer"}) from None
    closed = (
        type(assignment)
        .objects.filter(pk=assignment.pk, status=AssignmentStatus.LEASED)
        .update(status=AssignmentStatus.SUBMITTED, finished_at=now)
    )
    if closed != 1:  # pragma: no cover - the row lock makes this unreachable
        raise LeaseClosed("this task ended meanwhile; the answer was not stored")
    annotation = Annotation.objects.create(
        assignment=assignment,
        job_id=job.pk,
        item_id=assignment.item_id,
        worker=worker,
        answer=parsed.answer,
        label=parsed.label,
        accepted_at=assignment.leased_at,
        submitted_at=now,
        time_spent_seconds=round((now - assignment.leased_at).total_seconds(), 3),
    )
    item = (
        Item.objects.select_for_update()
        .only("id", "answers", "status", "job_id")
        .get(pk=assignment.item_id)
    )
    item.answers += 1
    item.save(update_fields=["answers"])
    consolidated = item.status == ItemStatus.OPEN and item.answers >= job.workers_per_item
    if consolidated:
        item_consolidate(item=item, job=job)
    # The job row is the one every submit touches: update it last, so its lock is brief.
    Job.objects.filter(pk=job.pk).update(
        answers_total=F("answers_total") + 1,
        items_labeled=F("items_labeled") + (1 if consolidated else 0),
    )
    if consolidated:
        job_complete_if_done(job=job)
    return annotation
