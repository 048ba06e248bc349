"""Submitting an answer: validated, stored with the lease it closes, consolidated when due."""

import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from labeling.after_commit import run_safely
from labeling.errors import LeaseClosed, LeaseExpired, NotAllowed, QuorumError, ValidationFailed
from labeling.job_probes import job_probe_columns, job_probes_known
from labeling.models import Annotation, Item, Job, User
from labeling.quality.services.reliability import (
    JOB_RULE_FIELDS,
    JobRules,
    job_rules,
    job_rules_from_row,
)
from labeling.services.assignments import (
    assignment_expire,
    assignment_lock_for_worker,
    assignment_revoke,
    worker_may_work_on,
)
from labeling.services.consolidation import item_consolidate
from labeling.services.counters import job_counters_add, job_counters_update_statement
from labeling.services.jobs import job_complete_if_done
from labeling.services.submit_hooks import quality_after_answer
from labeling.states import AssignmentStatus, ItemStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem

# Close the caller's live lease in one guarded statement; no row back means "find out why".
# The lease closes only while its worker is still on the job's team (issue 12): a member
# removed from the team cannot submit on the lease they held. On PostgreSQL the same statement
# returns the job's rules for the answer.
_CLOSE_LEASE = """
UPDATE labeling_assignment SET status = 'submitted', finished_at = %(now)s
WHERE id = %(id)s AND worker_id = %(worker)s AND status = 'leased' AND expires_at > %(now)s
  AND EXISTS (SELECT 1 FROM labeling_job AS job
              JOIN labeling_teammembership AS member
                ON member.team_id = job.team_id AND member.user_id = %(worker)s
              WHERE job.id = labeling_assignment.job_id)
RETURNING job_id, item_id, leased_at
"""
# It also answers the job probes (labeling/job_probes.py) that a consolidation asks, after the
# job's rules: {probes} is filled in when the statement runs, as parts register them at start.
# The lease's end (and the answer's time) is the statement's time on the database's clock,
# which stamps leases too: it is before this commit, so before the worker's next lease starts
# (services/assignments.py, _TAKE_AND_LEASE).
_CLOSE_LEASE_POSTGRES = """
UPDATE labeling_assignment AS lease SET status = 'submitted', finished_at = statement_timestamp()
FROM labeling_job AS job
WHERE lease.id = %(id)s AND lease.worker_id = %(worker)s AND lease.status = 'leased'
  AND lease.expires_at > statement_timestamp() AND job.id = lease.job_id
  AND EXISTS (SELECT 1 FROM labeling_teammembership AS member
              WHERE member.team_id = job.team_id AND member.user_id = %(worker)s)
RETURNING lease.job_id, lease.item_id, lease.leased_at, lease.finished_at, job.task_type,
  {rules}{{probes}}
""".format(rules=", ".join(f"job.{field}" for field in JOB_RULE_FIELDS))
_INSERT_ANNOTATION = """
INSERT INTO labeling_annotation (assignment_id, job_id, item_id, worker_id, answer, label,
                                 accepted_at, submitted_at, time_spent_seconds)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
_COUNT_ANSWER = """
UPDATE labeling_item SET answers = answers + 1 WHERE id = %s RETURNING answers, status
"""
# PostgreSQL (issue 20): the answer, the item's count and the worker's counter shard in one
# round trip instead of three. The item's update is the main statement, so it locks the item
# row first; its RETURNING then runs the insert and the shard's update, so the shard row is
# locked after the item's, in the order every other writer of both takes them.
_STORE_ANSWER_POSTGRES = """
WITH answer AS ({insert}), counted AS ({count})
UPDATE labeling_item SET answers = answers + 1 WHERE id = %s
RETURNING (SELECT id FROM answer), answers, status, EXISTS (SELECT 1 FROM counted)
"""


@dataclass(frozen=True)
class _ClosedLease:
    job_id: int
    item_id: int
    leased_at: datetime
    finished_at: datetime  # the lease's end: the answer's time
    task_type: str
    rules: JobRules
    probed: dict[str, bool] = field(default_factory=dict)  # the job probes' answers

    @property
    def labels(self) -> list[str]:
        return self.rules.labels

    @property
    def workers_per_item(self) -> int:
        return self.rules.workers_per_item


def annotation_submit(*, assignment_id: int, worker: User, answer: object) -> Annotation:
    """Store ``worker``'s answer on their lease ``assignment_id``.

    Refused, with nothing stored, when the lease is someone else's, already ended, or past
    its time (then it is expired on the spot and the item goes back to the pool), or when
    the answer does not fit the task type (then the lease stays open).
    """
    refusal = None
    consolidated = False
    # The job probes the lease's statement answered hold until this returns: the consolidation
    # and its after-commit receivers ask them.
    with ExitStack() as probes_known:
        with transaction.atomic():
            # Read inside the transaction, after SQLite's write lock; PostgreSQL's lease close
            # stamps the answer's time with the database's clock instead.
            now = timezone.now()
            lease = _close_lease(assignment_id, worker, now)
            if lease is None:
                refusal = _refuse(assignment_id, worker, timezone.now())
            else:
                if lease.probed:
                    probes_known.enter_context(job_probes_known(lease.job_id, lease.probed))
                annotation, consolidated = _store_answer(
                    assignment_id, lease, worker, answer, lease.finished_at
                )
        if consolidated:
            # After the commit: of two submits labeling the last items at once, the one that
            # commits last sees both counts. The beat sweeper is the backstop for a crash here,
            # and for a database gone away just after the commit: the answer is stored.
            run_safely(
                lambda: job_complete_if_done(job_id=lease.job_id),
                what=f"completing job {lease.job_id}",
            )
    if refusal is not None:
        raise refusal
    return annotation


def _close_lease(assignment_id: int, worker: User, now: datetime) -> _ClosedLease | None:
    params = {"now": now, "id": assignment_id, "worker": worker.pk}
    postgres = connection.vendor == "postgresql"
    probe_names, probe_columns = job_probe_columns("job.id") if postgres else ([], [])
    with connection.cursor() as cursor:
        if postgres:
            probes = "".join(f", {column}" for column in probe_columns)
            cursor.execute(_CLOSE_LEASE_POSTGRES.format(probes=probes), params)
        else:
            cursor.execute(_CLOSE_LEASE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if postgres:
        job_id, item_id, leased_at, finished_at, task_type, *values = row
        rule_values, probed = values[: len(JOB_RULE_FIELDS)], values[len(JOB_RULE_FIELDS) :]
        rules = job_rules_from_row(rule_values)
        return _ClosedLease(
            job_id,
            item_id,
            leased_at,
            finished_at,
            task_type,
            rules,
            dict(zip(probe_names, probed, strict=True)),
        )
    job_id, item_id, leased_at = row
    # SQLite hands raw timestamps back as naive UTC.
    leased_at = timezone.make_aware(leased_at, UTC)
    task_type = Job.objects.values_list("task_type", flat=True).get(pk=job_id)
    rules = job_rules(job_id)
    return _ClosedLease(job_id, item_id, leased_at, now, task_type, rules)


def _refuse(assignment_id: int, worker: User, now: datetime) -> QuorumError:
    """Say why a lease could not be closed; a lease past its time is expired here, and the
    lease of a worker who left the job's team is released.

    Raises for a missing, foreign or ended lease; returns the error for a late lease or a
    former member's, to be raised by the caller after the lease's end commits.
    """
    assignment = assignment_lock_for_worker(assignment_id=assignment_id, worker=worker)
    if assignment.status != AssignmentStatus.LEASED:
        raise LeaseClosed(
            f"this task is already {assignment.status}; the answer was not stored",
            details={"status": assignment.status},
        )
    if assignment.expires_at <= now:
        assignment_expire(assignment=assignment)
        expired_at = assignment.expires_at.isoformat()
        return LeaseExpired(
            f"the lease ran out at {expired_at}; the answer was not "
            "stored and the item went back to the pool",
            details={"expired_at": expired_at},
        )
    if not worker_may_work_on(job=assignment.job, worker=worker):
        assignment_revoke(assignment=assignment)
        return NotAllowed(
            "you are no longer on the team of this job; the answer was not stored and the "
            "item went back to the pool",
            code="not_on_team",
        )
    raise LeaseClosed(  # pragma: no cover - the guarded update took it then
        "this task changed meanwhile; the answer was not stored"
    )


def _store_answer(
    assignment_id: int, lease: _ClosedLease, worker: User, answer: object, now: datetime
) -> tuple[Annotation, bool]:
    task_type = get_task_type(lease.task_type)
    try:
        parsed = task_type.parse_answer(answer, lease.labels)
        if hasattr(task_type, "check_answer_for_item"):  # answers that point into the item
            item_data = Item.objects.values_list("data", flat=True).get(pk=lease.item_id)
            task_type.check_answer_for_item(parsed.answer, json.loads(item_data))
    except AnswerProblem as exc:  # raising rolls the closed lease back: it stays open
        raise ValidationFailed(str(exc), details={"field": "answer"}) from None
    annotation = Annotation(
        assignment_id=assignment_id,
        job_id=lease.job_id,
        item_id=lease.item_id,
        worker=worker,
        answer=parsed.answer,
        label=parsed.label,
        accepted_at=lease.leased_at,
        submitted_at=now,
        time_spent_seconds=round((now - lease.leased_at).total_seconds(), 3),
    )
    annotation.pk, answers, item_status, counted = _insert_answer(annotation, worker)
    consolidated = item_status == ItemStatus.OPEN and answers >= lease.workers_per_item
    # issue 5: gold scoring, adaptive overlap's early stop, the re-estimation request
    consolidated = quality_after_answer(
        job_id=lease.job_id,
        item_id=lease.item_id,
        worker_id=worker.pk,
        annotation_id=annotation.pk,
        label=annotation.label,
        answers=answers,
        item_open=item_status == ItemStatus.OPEN,
        due=consolidated,
        rules=lease.rules,
        task_type=lease.task_type,
        answer=parsed.answer,
    )
    if consolidated:
        # None: a consolidation hook takes the item over (issue 16); it counts it when it does
        consolidated = (
            item_consolidate(
                item_id=lease.item_id,
                job_id=lease.job_id,
                task_type=lease.task_type,
                labels=lease.labels,
                rules=lease.rules,
                count_in_shard=worker.pk,  # the labeled item, in the worker's shard
            )
            is not None
        )
    # Last, so that the shard row is held only until the commit that follows. (PostgreSQL
    # counted the answer with its insert: the worker's shard row from there to the commit.)
    if not counted:
        job_counters_add(job_id=lease.job_id, shard_key=worker.pk, items_labeled=0, answers=1)
    return annotation, consolidated


def _insert_answer(annotation: Annotation, worker: User) -> tuple[int, int, str, bool]:
    """Store the answer and count it on its item: (the answer's id, the item's answers, the
    item's status, whether the answer was also counted in the job's counters: on PostgreSQL,
    unless the worker's shard is missing)."""
    values = [
        annotation.assignment_id,
        annotation.job_id,
        annotation.item_id,
        worker.pk,
        json.dumps(annotation.answer),
        annotation.label,
        annotation.accepted_at,
        annotation.submitted_at,
        annotation.time_spent_seconds,
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            count, count_params = job_counters_update_statement(
                job_id=annotation.job_id, shard_key=worker.pk, items_labeled=0, answers=1
            )
            cursor.execute(
                _STORE_ANSWER_POSTGRES.format(insert=_INSERT_ANNOTATION.strip(), count=count),
                [*values, *count_params, annotation.item_id],
            )
            return cursor.fetchone()
        cursor.execute(_INSERT_ANNOTATION, values)
        (pk,) = cursor.fetchone()
        cursor.execute(_COUNT_ANSWER, [annotation.item_id])
        answers, status = cursor.fetchone()
    return pk, answers, status, False
