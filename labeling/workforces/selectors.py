"""Reads of the workforces: the crowd marketplace and a worker's earnings."""

from django.db.models import Count, Exists, Max, OuterRef, Sum

from labeling.models import (
    Annotation,
    Earning,
    Job,
    Qualification,
    Team,
    TeamKind,
    TeamMembership,
    User,
)
from labeling.selectors import with_progress
from labeling.states import JobStatus

MARKETPLACE_LIMIT = 200


def marketplace_jobs(*, worker: User) -> list[dict]:
    """Published, running jobs of crowd teams, with whether this worker is in or qualified."""
    member = TeamMembership.objects.filter(team_id=OuterRef("team_id"), user_id=worker.pk)
    passed = Qualification.objects.filter(job_id=OuterRef("pk"), worker_id=worker.pk, passed=True)
    jobs = (
        Job.objects.filter(
            published_at__isnull=False,
            team__kind=TeamKind.CROWD,
            status=JobStatus.IN_PROGRESS,
        )
        .annotate(joined=Exists(member), qualified=Exists(passed))
        .order_by("-published_at")
        .only("id", "name", "task_type", "short_instructions", "reward_cents",
              "qualification_pass_mark", "published_at", "team_id")[:MARKETPLACE_LIMIT]
    )  # fmt: skip
    return [
        {
            "id": job.pk,
            "name": job.name,
            "task_type": job.task_type,
            "short_instructions": job.short_instructions,
            "reward_cents": job.reward_cents,
            "qualification_test": job.qualification_pass_mark is not None,
            "qualified": job.qualified,
            "joined": job.joined,
        }
        for job in jobs
    ]


def worker_earnings(*, worker: User) -> dict:
    rows = (
        Earning.objects.filter(worker_id=worker.pk)
        .values("job_id", "job__name")
        .annotate(tasks=Count("id"), amount_cents=Sum("amount_cents"))
        .order_by("job__name")
    )
    jobs = [
        {"job_id": row["job_id"], "job": row["job__name"], "tasks": row["tasks"],
         "amount_cents": row["amount_cents"]}
        for row in rows
    ]  # fmt: skip
    return {"total_cents": sum(row["amount_cents"] for row in jobs), "jobs": jobs}


def job_labels(*, job_id: int) -> list[str]:
    return Job.objects.values_list("labels", flat=True).get(pk=job_id)


def vendor_overview(*, team: Team) -> dict:
    """A vendor console: the team's members, its granted jobs with progress, and per member
    and job the answers and earnings (only on this team's jobs)."""
    members = list(
        User.objects.filter(memberships__team=team)
        .annotate(joined_at=Max("memberships__joined_at"))
        .order_by("username")
        .only("id", "username", "last_login")
    )
    jobs = list(with_progress(Job.objects.filter(team=team)).order_by("-created_at"))
    member_ids = [member.pk for member in members]
    answers = (
        Annotation.objects.filter(job__team=team, worker_id__in=member_ids)
        .values("worker_id", "job_id")
        .annotate(n=Count("id"))
    )
    earned = (
        Earning.objects.filter(job__team=team, worker_id__in=member_ids)
        .values("worker_id", "job_id")
        .annotate(cents=Sum("amount_cents"))
    )
    cells: dict[tuple[int, int], dict] = {}
    for row in answers:
        cells.setdefault((row["worker_id"], row["job_id"]), {"answers": 0, "cents": 0})[
            "answers"
        ] = row["n"]
    for row in earned:
        cells.setdefault((row["worker_id"], row["job_id"]), {"answers": 0, "cents": 0})["cents"] = (
            row["cents"]
        )
    names = {member.pk: member.username for member in members}
    job_names = {job.pk: job.name for job in jobs}
    work = [
        {"worker": names[worker_id], "job": job_names[job_id], **cell}
        for (worker_id, job_id), cell in cells.items()
        if job_id in job_names
    ]
    work.sort(key=lambda row: (row["worker"], row["job"]))
    job_rows = [
        {
            "job": job,
            "items_remaining": job.items_held - job.items_labeled,
            "percent": round(100 * job.items_labeled / job.items_held) if job.items_held else 0,
        }
        for job in jobs
    ]
    return {"team": team, "members": members, "jobs": job_rows, "work": work}
