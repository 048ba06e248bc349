"""Reads of the labeling domain: each fetches exactly what its page or endpoint shows."""

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from labeling.models import (
    Annotation,
    Assignment,
    ConsolidatedLabel,
    ConsolidatedLabelClass,
    ImportRun,
    Item,
    Job,
    JobCounter,
    Team,
    TeamMembership,
    User,
)
from labeling.states import AssignmentStatus, JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import holds_several_labels


@dataclass(frozen=True)
class JobProgress:
    status: str
    items_total: int  # Job.items_total plus the items added while it runs (open-ended jobs)
    items_labeled: int
    answers_total: int
    open_ended: bool = False


def shard_sum(field: str) -> Coalesce:
    """A job's counter ``field`` summed over its shards, as an expression on Job rows."""
    shards = JobCounter.objects.filter(job_id=OuterRef("pk")).order_by().values("job_id")
    return Coalesce(Subquery(shards.annotate(total=Sum(field)).values("total")), 0)


def with_progress(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """Annotate each job with ``items_labeled``, ``answers_total`` and ``items_held`` (its
    items: ``items_total`` plus those added while it runs), summed over its shards."""
    return jobs.annotate(
        items_labeled=shard_sum("items_labeled"),
        answers_total=shard_sum("answers"),
        items_held=F("items_total") + shard_sum("items_added"),
    )


def job_progress(*, job_id: int) -> JobProgress | None:
    """A job's status and counts, read fresh: one query over the job and its shards."""
    row = (
        with_progress(Job.objects.filter(pk=job_id))
        .values_list("status", "items_held", "items_labeled", "answers_total", "open_ended")
        .first()
    )
    return JobProgress(*row) if row is not None else None


def jobs_for_user(*, user: User) -> QuerySet[Job]:
    jobs = Job.objects.select_related("team").order_by("-created_at")
    if user.is_manager:
        return jobs
    return jobs.filter(team__memberships__user_id=user.pk)


def job_get_for_user(*, job_id: int, user: User) -> Job | None:
    """One job if the user may see it: every task request starts here, so no joins to load."""
    jobs = Job.objects.filter(pk=job_id)
    if not user.is_manager:
        jobs = jobs.filter(team__memberships__user_id=user.pk)
    return jobs.first()


# What a task request needs of its job, in the model's field order (Model.from_db).
_TASK_JOB_FIELDS = tuple(
    field.attname
    for field in Job._meta.concrete_fields
    if field.attname
    in {
        "id",
        "task_type",
        "team_id",
        "workers_per_item",
        "task_time_limit_seconds",
        "max_concurrent_tasks_per_worker",
        "status",
        "expires_at",
        # issue 5: what the claim reads for gold items, pauses and adaptive overlap
        "gold_rate",
        "gold_pause_below",
        "min_workers_per_item",
        "target_confidence",
        "qualification_pass_mark",
        "open_ended",  # issue 16: an empty claim of a streaming job says when to ask again
    }
)
_TASK_JOB = """
SELECT {columns} FROM labeling_job AS job
WHERE job.id = %s AND EXISTS (
    SELECT 1 FROM labeling_teammembership AS membership
    WHERE membership.team_id = job.team_id AND membership.user_id = %s)
""".format(columns=", ".join(f"job.{name}" for name in _TASK_JOB_FIELDS))


def job_for_labeler_task(*, job_id: int, user: User) -> Job | None:
    """The job of a task request if the labeler's team is on it, with the fields a claim
    reads, in one plain query: every next-task request starts here."""
    with connection.cursor() as cursor:
        cursor.execute(_TASK_JOB, [job_id, user.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    if connection.vendor == "sqlite" and row[_TASK_JOB_FIELDS.index("expires_at")]:
        row = list(row)  # SQLite hands raw timestamps back as naive UTC
        position = _TASK_JOB_FIELDS.index("expires_at")
        row[position] = timezone.make_aware(row[position], UTC)
    return Job.from_db("default", list(_TASK_JOB_FIELDS), row)


def job_counts(*, job: Job) -> dict[str, int]:
    """Progress from the job's counters, plus one indexed count of its live leases."""
    now = timezone.now()
    leased = Assignment.objects.filter(
        job_id=job.pk, status=AssignmentStatus.LEASED, expires_at__gt=now
    ).count()
    progress = job_progress(job_id=job.pk)
    items_total = progress.items_total if progress else job.items_total
    items_labeled = progress.items_labeled if progress else 0
    return {
        "items_total": items_total,
        "items_labeled": items_labeled,
        "items_remaining": items_total - items_labeled,
        "answers_total": progress.answers_total if progress else 0,
        "answers_needed": items_total * job.workers_per_item,
        "leases_active": leased,
    }


def labeler_job_list(*, user: User) -> list[dict[str, Any]]:
    """The labeler portal's jobs: in progress, on the user's teams, with what is left for them."""
    jobs = list(with_progress(jobs_for_user(user=user).filter(status=JobStatus.IN_PROGRESS)))
    answered = dict(
        Annotation.objects.filter(worker_id=user.pk, job__in=jobs)
        .values("job_id")
        .annotate(n=Count("id"))
        .values_list("job_id", "n")
    )
    return [
        {
            "job": job,
            "my_answers": answered.get(job.pk, 0),
            "items_remaining": job.items_held - job.items_labeled,
        }
        for job in jobs
    ]


def worker_stats(*, job: Job) -> list[dict[str, Any]]:
    """Per worker who answered or skipped: answers, skips, median seconds per answer."""
    answers = dict(
        Annotation.objects.filter(job_id=job.pk)
        .values("worker_id")
        .annotate(n=Count("id"))
        .values_list("worker_id", "n")
    )
    skips = dict(
        Assignment.objects.filter(job_id=job.pk, status=AssignmentStatus.SKIPPED)
        .values("worker_id")
        .annotate(n=Count("id"))
        .values_list("worker_id", "n")
    )
    names = dict(
        User.objects.filter(pk__in=answers.keys() | skips.keys()).values_list("id", "username")
    )
    medians = _median_seconds_by_worker(job)
    stats = [
        {
            "worker_id": worker_id,
            "username": username,
            "answers": answers.get(worker_id, 0),
            "skips": skips.get(worker_id, 0),
            "median_seconds": medians.get(worker_id),
        }
        for worker_id, username in names.items()
    ]
    return sorted(stats, key=lambda row: (-row["answers"], row["username"]))


def _median_seconds_by_worker(job: Job) -> dict[int, float]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT worker_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY time_spent_seconds)"
                " FROM labeling_annotation WHERE job_id = %s GROUP BY worker_id",
                [job.pk],
            )
            return {worker: round(float(median), 2) for worker, median in cursor.fetchall()}
    times: dict[int, list[float]] = {}
    for worker, seconds in (
        Annotation.objects.filter(job_id=job.pk)
        .values_list("worker_id", "time_spent_seconds")
        .iterator(chunk_size=5000)
    ):
        times.setdefault(worker, []).append(seconds)
    return {worker: round(statistics.median(values), 2) for worker, values in times.items()}


def labels_over_time(*, job: Job, hours: int = 72) -> dict[str, Any]:
    """Consolidated labels per hour and class, for the dashboard's chart (for task types whose
    value holds several labels: per hour, the items whose value contains each label)."""
    since = timezone.now() - timedelta(hours=hours)
    if holds_several_labels(get_task_type(job.task_type)):
        rows = (
            ConsolidatedLabelClass.objects.filter(
                consolidated__job_id=job.pk, consolidated__created_at__gte=since
            )
            .annotate(hour=TruncHour("consolidated__created_at"))
            .values("hour", "label")
            .annotate(n=Count("id"))
            .order_by("hour")
        )
    else:
        rows = (
            ConsolidatedLabel.objects.filter(job_id=job.pk, created_at__gte=since)
            .annotate(hour=TruncHour("created_at"))
            .values("hour", "label")
            .annotate(n=Count("id"))
            .order_by("hour")
        )
    series: dict[str, dict[str, int]] = {}
    hours_seen: list[str] = []
    for row in rows:
        hour = row["hour"].isoformat()
        if hour not in hours_seen:
            hours_seen.append(hour)
        series.setdefault(row["label"], {})[hour] = row["n"]
    return {
        "hours": hours_seen,
        "series": [
            {"label": label, "counts": [series.get(label, {}).get(h, 0) for h in hours_seen]}
            for label in job.labels
            if label in series
        ],
    }


def label_distribution(*, job: Job) -> list[dict[str, Any]]:
    """Per label of the job, its labeled items: those whose label it is or, for task types
    whose value holds several labels (multi-label, boxes, polygons, masks, spans), those whose
    value contains it at least once. Counted on an index, never over the values."""
    if holds_several_labels(get_task_type(job.task_type)):
        counted = ConsolidatedLabelClass.objects.filter(job_id=job.pk).values("label")
        counts = dict(counted.annotate(n=Count("item_id")).values_list("label", "n"))
    else:
        counts = dict(
            ConsolidatedLabel.objects.filter(job_id=job.pk)
            .values("label")
            .annotate(n=Count("id"))
            .values_list("label", "n")
        )
    return [{"label": label, "count": counts.get(label, 0)} for label in job.labels]


def teams_for_user(*, user: User) -> QuerySet[Team]:
    teams = Team.objects.annotate(
        member_count=Count("memberships", distinct=True),
    ).order_by("name")
    if user.is_manager:
        return teams
    return teams.filter(memberships__user_id=user.pk)


def assignment_for_worker(*, assignment_id: int, user: User) -> Assignment | None:
    return (
        Assignment.objects.select_related("job", "item")
        .filter(pk=assignment_id, worker_id=user.pk)
        .first()
    )


def worker_active_assignments(*, job: Job, user: User) -> list[Assignment]:
    return list(
        Assignment.objects.filter(
            job_id=job.pk,
            worker_id=user.pk,
            status=AssignmentStatus.LEASED,
            expires_at__gt=timezone.now(),
        ).order_by("leased_at")
    )


def item_visible_to(*, item_id: int, user: User) -> Item | None:
    """An item a user may see: managers see all, labelers those of their teams' jobs."""
    items = Item.objects.select_related("job").filter(pk=item_id)
    if not user.is_manager:
        items = items.filter(job__team__memberships__user_id=user.pk)
    return items.first()


def job_list_counts(*, jobs: list[Job]) -> dict[int, int]:
    """Live leases per job for a list page, in one grouped query."""
    return dict(
        Assignment.objects.filter(
            job_id__in=[job.pk for job in jobs],
            status=AssignmentStatus.LEASED,
            expires_at__gt=timezone.now(),
        )
        .values("job_id")
        .annotate(n=Count("id"))
        .values_list("job_id", "n")
    )


def item_source_ref(*, item: Item) -> str:
    return str(json.loads(item.data).get("source-ref") or "")


# --- Pages of the labeler portal and the manager console ------------------------------------


def console_job_list() -> QuerySet[Job]:
    """The console's jobs list: the columns it shows, newest first (paginate the result);
    jobs that another app lists on its own pages (``listed=False``) are left out."""
    return with_progress(
        Job.objects.filter(listed=True)
        .select_related("team")
        .only(
            "id",
            "name",
            "task_type",
            "status",
            "team__name",
            "workers_per_item",
            "items_total",
            "created_at",
        )
        .order_by("-created_at", "-id")
    )


# Bad lines of a past import shown on the job page; the import's API lists every one it kept.
IMPORT_ERRORS_SHOWN = 10


@dataclass(frozen=True)
class RecentImport:
    """A past import as the job page lists it, with the first of its bad lines."""

    run: ImportRun
    # (where, reason): an uploaded file's name or "Line n", and why it was refused.
    errors_shown: list[tuple[str, str]]
    # Kept with the run but not shown here (GET /api/v1/imports/{id} lists them).
    errors_more_kept: int
    # Counted but not kept (a run keeps the first MAX_ERRORS_KEPT, labeling/data/).
    errors_not_kept: int


def job_recent_imports(*, job: Job, limit: int = 10) -> list[RecentImport]:
    runs = (
        ImportRun.objects.filter(job_id=job.pk)
        .only(
            "id",
            "job_id",
            "kind",
            "status",
            "original_name",
            "items_created",
            "error_count",
            "errors",
            "message",
            "created_at",
            "finished_at",
        )
        .order_by("-created_at", "-id")[:limit]
    )
    recent = []
    for run in runs:
        kept = run.errors if isinstance(run.errors, list) else []
        recent.append(
            RecentImport(
                run=run,
                errors_shown=[_bad_line(e) for e in kept[:IMPORT_ERRORS_SHOWN]],
                errors_more_kept=max(0, len(kept) - IMPORT_ERRORS_SHOWN),
                errors_not_kept=max(0, run.error_count - len(kept)),
            )
        )
    return recent


def _bad_line(error: Any) -> tuple[str, str]:
    """A kept error, {"line": n, "reason": …} or {"file": name, …}, as (where, reason)."""
    if not isinstance(error, dict):
        return ("", str(error))
    where = error.get("file")
    if where is None:
        where = f"Line {error.get('line', '?')}"
    return (str(where), str(error.get("reason", "")))


def teams_with_members() -> list[dict[str, Any]]:
    """Every team with the usernames of its members, for the console's teams page."""
    teams = list(Team.objects.only("id", "name", "kind", "created_at").order_by("name"))
    members: dict[int, list[str]] = {}
    for team_id, username in (
        TeamMembership.objects.filter(team_id__in=[team.pk for team in teams])
        .order_by("user__username")
        .values_list("team_id", "user__username")
    ):
        members.setdefault(team_id, []).append(username)
    return [{"team": team, "members": members.get(team.pk, [])} for team in teams]


def user_by_username(*, username: str) -> User | None:
    return User.objects.filter(username=username.strip()).only("id", "username", "role").first()


def leased_tasks() -> QuerySet[Assignment]:
    """Live leases with what their task UI renders: the job and the item."""
    return (
        Assignment.objects.select_related("job", "item")
        .only(
            "id",
            "status",
            "worker_id",
            "item_id",
            "job_id",
            "expires_at",
            "item__id",
            "item__data",
            "job__id",
            "job__task_type",
            "job__labels",
            "job__short_instructions",
            "job__full_instructions",
            "job__examples",
        )
        .filter(status=AssignmentStatus.LEASED)
    )


def leased_task_for_worker(*, assignment_id: int, user: User) -> Assignment | None:
    """A lease the user holds now, with what its task UI renders: the job and the item."""
    return leased_tasks().filter(pk=assignment_id, worker_id=user.pk).first()
