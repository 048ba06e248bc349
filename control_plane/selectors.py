"""Reads of the control plane: pages of jobs, teams, UIs and flows, and what Describe shows.

Lists are keyset pages: the token carries the sort value and id of the last row (signed, so
a changed token is refused), and the next page starts after it, as boto3's paginators expect.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest

from active_learning.models import TrainingRound
from control_plane.models import LabelingJobSpec, LabelingJobStatus
from labeling.data.selectors import job_output_pending
from labeling.models import CustomTemplate, Job, JobCounter, JobOutput, Team, TeamKind
from labeling.selectors import with_progress
from labeling.states import JobStatus
from workflows.models import Flow

PAGE_SALT = "control_plane.page"
# Templates that jobs and flows made for themselves: not human task UIs of their own.
OWN_TEMPLATE_PREFIXES = ("labeling-job/", "review-loops/")
_JOB_STATUS = {
    JobStatus.DRAFT: LabelingJobStatus.INITIALIZING,
    JobStatus.IN_PROGRESS: LabelingJobStatus.IN_PROGRESS,
    JobStatus.COMPLETED: LabelingJobStatus.COMPLETED,
    JobStatus.STOPPED: LabelingJobStatus.STOPPED,
}


class BadToken(ValueError):
    """A NextToken this server did not hand out for this listing."""


def keyset_page(
    rows: QuerySet, *, field: str, ascending: bool, token: str | None, limit: int, listing: str
) -> tuple[list[Any], str | None]:
    """One page of ``rows`` in (``field``, id) order after ``token``, and the next token."""
    direction = "" if ascending else "-"
    rows = rows.order_by(f"{direction}{field}", f"{direction}pk")
    if token:
        try:
            cursor = signing.loads(token, salt=PAGE_SALT)
        except signing.BadSignature:
            raise BadToken("NextToken is not a token this server handed out") from None
        if cursor.get("l") != listing or cursor.get("f") != field or cursor.get("a") != ascending:
            raise BadToken("NextToken belongs to another listing or sort order")
        value = cursor["v"]
        if cursor.get("t") == "dt":
            value = datetime.fromisoformat(value)
        after = "gt" if ascending else "lt"
        rows = rows.filter(
            Q(**{f"{field}__{after}": value}) | Q(**{field: value, f"pk__{after}": cursor["id"]})
        )
    page = list(rows[: limit + 1])
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    value = getattr(last, field)
    kind = "dt" if isinstance(value, datetime) else "s"
    cursor = {
        "l": listing,
        "f": field,
        "a": ascending,
        "t": kind,
        "v": value.isoformat() if kind == "dt" else value,
        "id": last.pk,
    }
    return page[:limit], signing.dumps(cursor, salt=PAGE_SALT, compress=True)


# --- Labeling jobs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCounts:
    total: int
    labeled: int
    machine: int

    @property
    def human(self) -> int:
        return max(self.labeled - self.machine, 0)

    @property
    def unlabeled(self) -> int:
        return max(self.total - self.labeled, 0)


# Items labeled by automated labeling: summed over its rounds, never counted row by row.
_machine_labeled = (
    TrainingRound.objects.filter(job_id=OuterRef("pk"))
    .order_by()
    .values("job_id")
    .annotate(total=Sum("auto_labeled"))
    .values("total")
)


def labeling_jobs() -> QuerySet[Job]:
    """Jobs as the control plane lists them, with progress and the fields summaries need."""
    return (
        with_progress(Job.objects.filter(listed=True))
        .select_related("team", "labeling_job_spec")
        .annotate(
            machine_labeled=Coalesce(Subquery(_machine_labeled), 0),
            last_modified=Greatest(
                "created_at",
                Coalesce("started_at", "created_at"),
                Coalesce("finished_at", "created_at"),
            ),
        )
    )


def labeling_job_get(*, name: str) -> Job | None:
    """One job with the attributes ``labeling_jobs()`` annotates, read with plain queries:
    Describe is polled by scripts, and the annotated query costs more to build than to run."""
    job = (
        Job.objects.select_related("team", "labeling_job_spec")
        .filter(name=name, listed=True)
        .first()
    )
    if job is None:
        return None
    sums = JobCounter.objects.filter(job_id=job.pk).aggregate(
        labeled=Sum("items_labeled"), added=Sum("items_added"), answers=Sum("answers")
    )
    machine = TrainingRound.objects.filter(job_id=job.pk).aggregate(total=Sum("auto_labeled"))
    job.items_labeled = sums["labeled"] or 0
    job.items_held = job.items_total + (sums["added"] or 0)
    job.answers_total = sums["answers"] or 0
    job.machine_labeled = machine["total"] or 0
    job.last_modified = max(
        moment for moment in (job.created_at, job.started_at, job.finished_at) if moment
    )
    return job


def label_counts(job: Job) -> LabelCounts:
    """The counts of a job read through ``labeling_jobs()`` (its annotations)."""
    return LabelCounts(total=job.items_held, labeled=job.items_labeled, machine=job.machine_labeled)


def spec_of(job: Job) -> LabelingJobSpec | None:
    try:
        return job.labeling_job_spec
    except LabelingJobSpec.DoesNotExist:
        return None


def labeling_job_status(job: Job) -> str:
    spec = spec_of(job)
    if spec is not None and spec.failure_reason:
        return LabelingJobStatus.FAILED
    status = _JOB_STATUS[job.status]
    # Completed (or Stopped) once the final output.manifest is in storage, as the service did:
    # a script reads it as soon as it sees the status.
    if status in (LabelingJobStatus.COMPLETED, LabelingJobStatus.STOPPED) and job_output_pending(
        job_id=job.pk
    ):
        return (
            LabelingJobStatus.IN_PROGRESS
            if status == LabelingJobStatus.COMPLETED
            else LabelingJobStatus.STOPPING
        )
    return status


def jobs_with_status(jobs: QuerySet[Job], status: str) -> QuerySet[Job]:
    """``jobs`` whose LabelingJobStatus is ``status``, as ``labeling_job_status`` says it."""
    failed = Q(labeling_job_spec__isnull=False) & ~Q(labeling_job_spec__failure_reason="")
    if status == LabelingJobStatus.FAILED:
        return jobs.filter(failed)
    jobs = jobs.exclude(failed).annotate(
        output_pending=Exists(JobOutput.objects.filter(job_id=OuterRef("pk"), finished_at=None))
    )
    ended = (JobStatus.COMPLETED, JobStatus.STOPPED)
    if status == LabelingJobStatus.IN_PROGRESS:
        return jobs.filter(
            Q(status=JobStatus.IN_PROGRESS) | Q(status=JobStatus.COMPLETED, output_pending=True)
        )
    if status == LabelingJobStatus.STOPPING:
        return jobs.filter(status=JobStatus.STOPPED, output_pending=True)
    quorum = [key for key, value in _JOB_STATUS.items() if value == status]
    if set(quorum) & set(ended):
        return jobs.filter(status__in=quorum, output_pending=False)
    return jobs.filter(status__in=quorum)


# --- Teams, templates, flows ------------------------------------------------------------------


def workteams(*, kind: str = TeamKind.PRIVATE) -> QuerySet[Team]:
    return Team.objects.filter(kind=kind).select_related("workteam_spec")


def workteam_get(*, name: str, kind: str = TeamKind.PRIVATE) -> Team | None:
    return workteams(kind=kind).filter(name=name).first()


def human_task_uis() -> QuerySet[CustomTemplate]:
    rows = CustomTemplate.objects.all()
    for prefix in OWN_TEMPLATE_PREFIXES:
        rows = rows.exclude(name__startswith=prefix)
    return rows


def human_task_ui_get(*, name: str) -> CustomTemplate | None:
    return human_task_uis().filter(name=name).first()


def flows() -> QuerySet[Flow]:
    return Flow.objects.select_related("job", "team", "definition_spec")


def flow_get(*, name: str) -> Flow | None:
    return flows().filter(name=name).first()
