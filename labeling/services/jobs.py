"""Creating jobs and moving them through draft → in progress → completed / stopped."""

import re
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from labeling.errors import Conflict, InvalidTransition, ValidationFailed
from labeling.events import job_completed, job_started, publish_on_commit
from labeling.models import (
    ConsolidatedLabel,
    Job,
    JobStatusChange,
    ReviewStatus,
    Team,
    TeamKind,
    User,
)
from labeling.selectors import job_progress  # noqa: F401 - imported from here by callers
from labeling.services.counters import job_counters_create
from labeling.states import JOB_TRANSITIONS, JobStatus, can_transition
from labeling.task_types import get_task_type

LABEL_ATTRIBUTE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,126})$")
MAX_LABELS = 200
MAX_LABEL_CHARS = 200


def _label_attribute_from_name(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")[:127]
    return slug or "label"


def _clean_labels(labels: Any) -> list[str]:
    if not isinstance(labels, list) or not labels:
        raise ValidationFailed("labels must be a non-empty list", details={"field": "labels"})
    cleaned = []
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ValidationFailed(
                "every label must be a non-empty string", details={"field": "labels"}
            )
        label = label.strip()
        if len(label) > MAX_LABEL_CHARS:
            raise ValidationFailed(
                f"label {label[:40]!r}… is longer than {MAX_LABEL_CHARS} characters",
                details={"field": "labels"},
            )
        cleaned.append(label)
    duplicates = sorted({label for label in cleaned if cleaned.count(label) > 1})
    if duplicates:
        raise ValidationFailed(
            f"labels repeat: {', '.join(duplicates)}", details={"field": "labels"}
        )
    if len(cleaned) > MAX_LABELS:
        raise ValidationFailed(f"at most {MAX_LABELS} labels", details={"field": "labels"})
    return cleaned


def _clean_examples(examples: Any) -> list[dict[str, str]]:
    if examples in (None, ""):
        return []
    if not isinstance(examples, list):
        raise ValidationFailed("examples must be a list", details={"field": "examples"})
    cleaned = []
    for position, example in enumerate(examples, start=1):
        if not isinstance(example, dict) or example.get("kind") not in ("good", "bad"):
            raise ValidationFailed(
                f'example {position} needs "kind": "good" or "bad"', details={"field": "examples"}
            )
        cleaned.append(
            {
                "kind": example["kind"],
                "source": str(example.get("source", "")),
                "label": str(example.get("label", "")),
                "explanation": str(example.get("explanation", "")),
            }
        )
    return cleaned


@transaction.atomic
def job_create(
    *,
    created_by: User,
    name: str,
    task_type: str,
    labels: list[str],
    team: Team,
    workers_per_item: int = 1,
    short_instructions: str = "",
    full_instructions: str = "",
    examples: list[dict[str, str]] | None = None,
    label_attribute_name: str = "",
    task_time_limit_seconds: int = 300,
    availability_lifetime_seconds: int = 10 * 24 * 3600,
    max_concurrent_tasks_per_worker: int = 1,
    data_may_leave_private: bool = False,
    listed: bool = True,
) -> Job:
    """Create a draft job; ``listed=False`` keeps it off the console's jobs list (for a job
    that another app creates and links from its own pages)."""
    name = name.strip()
    check_personal_data_rule(team=team, data_may_leave_private=data_may_leave_private)
    if not name:
        raise ValidationFailed("a job needs a name", details={"field": "name"})
    try:
        get_task_type(task_type)
    except KeyError as exc:
        raise ValidationFailed(str(exc.args[0]), details={"field": "task_type"}) from None
    attribute = label_attribute_name.strip() or _label_attribute_from_name(name)
    if not LABEL_ATTRIBUTE_RE.match(attribute) or attribute.endswith(("-metadata", "-ref")):
        raise ValidationFailed(
            "label_attribute_name: letters, digits, - and _, at most 127, "
            "not ending in -metadata or -ref",
            details={"field": "label_attribute_name"},
        )
    if attribute in ("source", "source-ref"):
        raise ValidationFailed(
            f"label_attribute_name cannot be {attribute!r}",
            details={"field": "label_attribute_name"},
        )
    job = Job(
        name=name,
        label_attribute_name=attribute,
        task_type=task_type,
        labels=_clean_labels(labels),
        short_instructions=short_instructions,
        full_instructions=full_instructions,
        examples=_clean_examples(examples),
        team=team,
        workers_per_item=workers_per_item,
        task_time_limit_seconds=task_time_limit_seconds,
        availability_lifetime_seconds=availability_lifetime_seconds,
        max_concurrent_tasks_per_worker=max_concurrent_tasks_per_worker,
        data_may_leave_private=data_may_leave_private,
        listed=listed,
        created_by=created_by,
    )
    _check_field_ranges(job)
    try:
        with transaction.atomic():
            job.save()
            job_counters_create(job_id=job.pk)
    except IntegrityError:
        raise Conflict(f"a job named {name!r} exists already", code="duplicate_name") from None
    return job


PERSONAL_DATA_RULE = (
    "this job does not state that its data may leave the private workforce (no personal "
    "data, no adult content), so it can only go to a private team, never to an external "
    "crowd or a vendor"
)


def check_personal_data_rule(*, team: Team, data_may_leave_private: bool) -> None:
    """The personal-data rule: only a job that says its data may leave the private
    workforce may be worked on by an external crowd or a vendor (issue 5)."""
    if team.kind != TeamKind.PRIVATE and not data_may_leave_private:
        raise ValidationFailed(
            PERSONAL_DATA_RULE,
            code="personal_data_rule",
            details={"field": "data_may_leave_private", "team_kind": team.kind},
        )


def _check_field_ranges(job: Job) -> None:
    for field_name in (
        "workers_per_item",
        "task_time_limit_seconds",
        "availability_lifetime_seconds",
        "max_concurrent_tasks_per_worker",
    ):
        field = Job._meta.get_field(field_name)
        value = getattr(job, field_name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationFailed(
                f"{field_name} must be a whole number", details={"field": field_name}
            )
        for validator in field.validators:
            limit = getattr(validator, "limit_value", None)
            if validator.compare(value, limit):
                bound = "at least" if validator.code == "min_value" else "at most"
                raise ValidationFailed(
                    f"{field_name} must be {bound} {limit}, not {value}",
                    details={"field": field_name},
                )


def job_transition(
    *, job: Job, to: str, by: User | None = None, reason: str = "", **fields: Any
) -> Job:
    """Move a job to ``to`` if the move is allowed and nobody moved it first."""
    old = job.status
    if not can_transition(JOB_TRANSITIONS, old, to):
        raise InvalidTransition(
            f"a {JobStatus(old).label.lower()} job cannot become {JobStatus(to).label.lower()}",
            details={"from": old, "to": to},
        )
    with transaction.atomic():
        moved = Job.objects.filter(pk=job.pk, status=old).update(
            status=to, status_reason=reason[:300], **fields
        )
        if moved != 1:
            job.refresh_from_db(fields=["status"])
            raise InvalidTransition(
                f"the job changed status meanwhile; it is now {job.status}",
                details={"from": job.status, "to": to},
            )
        JobStatusChange.objects.create(
            job=job, from_status=old, to_status=to, changed_by=by, reason=reason[:300]
        )
    job.status = to
    job.status_reason = reason[:300]
    for key, value in fields.items():
        setattr(job, key, value)
    return job


def job_start(*, job: Job, by: User) -> Job:
    # An open-ended job (a streaming job, issue 16) may start empty and runs until stopped.
    if job.items_total == 0 and not job.open_ended:
        raise Conflict("import items before starting the job", code="no_items")
    now = timezone.now()
    lifetime = timedelta(seconds=job.availability_lifetime_seconds)
    job = job_transition(
        job=job,
        to=JobStatus.IN_PROGRESS,
        by=by,
        started_at=now,
        expires_at=None if job.open_ended else now + lifetime,
    )
    publish_on_commit(job_started, job_id=job.pk)
    return job


def job_stop(*, job: Job, by: User | None, reason: str = "stopped by a manager") -> Job:
    return job_transition(
        job=job, to=JobStatus.STOPPED, by=by, reason=reason, finished_at=timezone.now()
    )


# Issue 20: every submit that labels an item asks whether the job is done. The job's counts
# in one plain statement over its row and its counter shards (job_progress's ORM query, with
# three summed subqueries, cost more to compile than to run).
_JOB_DONE_COUNTS = """
SELECT job.status, job.open_ended, job.items_total + COALESCE(SUM(shard.items_added), 0),
       COALESCE(SUM(shard.items_labeled), 0)
FROM labeling_job AS job LEFT JOIN labeling_jobcounter AS shard ON shard.job_id = job.id
WHERE job.id = %s
GROUP BY job.id
"""


def _job_labeled_everything(job_id: int) -> bool:
    """Whether the job is in progress, closed-ended, and every one of its items has a label."""
    with connection.cursor() as cursor:
        cursor.execute(_JOB_DONE_COUNTS, [job_id])
        row = cursor.fetchone()
    if row is None:
        return False
    status, open_ended, items_held, items_labeled = row
    return status == JobStatus.IN_PROGRESS and not open_ended and 0 < items_held <= items_labeled


def job_complete_if_done(*, job_id: int) -> bool:
    """Complete an in-progress job once every item has a label and no label waits for a
    reviewer (the review stage is part of the job: its last review completes it). Idempotent.

    Called after the transaction that labeled an item has committed: of two submits that
    label the last items at once, the one that commits last reads both counts. An open-ended
    job (items keep arriving) never completes this way.
    """
    if not _job_labeled_everything(job_id):
        return False
    # A partial index holds a job's labels waiting for review: this is one index probe.
    if ConsolidatedLabel.objects.filter(job_id=job_id, review_status=ReviewStatus.PENDING).exists():
        return False
    job = Job(pk=job_id, status=JobStatus.IN_PROGRESS)
    try:
        job_transition(job=job, to=JobStatus.COMPLETED, finished_at=timezone.now())
    except InvalidTransition:
        return False
    publish_on_commit(job_completed, job_id=job.pk)
    return True


def jobs_stop_expired(*, now=None) -> int:
    """Stop in-progress jobs whose availability lifetime has ended."""
    now = now or timezone.now()
    stopped = 0
    for job in Job.objects.filter(status=JobStatus.IN_PROGRESS, expires_at__lte=now):
        try:
            job_stop(job=job, by=None, reason="its availability lifetime ended")
            stopped += 1
        except InvalidTransition:
            continue
    return stopped


def jobs_complete_finished() -> int:
    """Safety net: complete in-progress jobs whose counters say every item is labeled."""
    done = 0
    for job_id in Job.objects.filter(
        status=JobStatus.IN_PROGRESS, items_total__gt=0, open_ended=False
    ).values_list("pk", flat=True):
        done += job_complete_if_done(job_id=job_id)
    return done
