"""Reads of the workforces: the crowd marketplace and a worker's earnings."""

from django.db.models import Count, Exists, OuterRef, Sum

from labeling.models import Earning, Job, Qualification, TeamKind, TeamMembership, User
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
