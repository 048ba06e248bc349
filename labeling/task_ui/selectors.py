"""Reads of custom task templates: lists, one template with its versions, a job's template."""

from django.db.models import QuerySet
from django.utils import timezone

from labeling.models import Assignment, CustomTemplate, CustomTemplateVersion, Job, JobTemplate
from labeling.selectors import leased_tasks

VERSIONS_SHOWN = 50


def custom_template_list() -> QuerySet[CustomTemplate]:
    return CustomTemplate.objects.order_by("name").only(
        "id", "name", "description", "latest_version", "updated_at"
    )


def custom_template_get(*, template_id: int) -> CustomTemplate | None:
    return CustomTemplate.objects.filter(pk=template_id).first()


def custom_template_version(
    *, template_id: int, number: int | None = None
) -> CustomTemplateVersion | None:
    versions = CustomTemplateVersion.objects.filter(template_id=template_id)
    if number is not None:
        return versions.filter(number=number).first()
    return versions.order_by("-number").first()


def custom_template_versions(*, template_id: int) -> list[CustomTemplateVersion]:
    return list(
        CustomTemplateVersion.objects.filter(template_id=template_id)
        .order_by("-number")
        .only("id", "number", "created_at", "created_by_id")[:VERSIONS_SHOWN]
    )


def job_custom_source(*, job_id: int) -> str | None:
    """The template text a job's tasks render with, or None for the task type's own UI."""
    return (
        JobTemplate.objects.filter(job_id=job_id).values_list("version__source", flat=True).first()
    )


def draft_jobs() -> QuerySet[Job]:
    return Job.objects.filter(status="draft").order_by("-created_at").only("id", "name")


def leased_task_for_frame(*, assignment_id: int, worker_id: int) -> Assignment | None:
    """The live lease a task frame's token names, with the job and item its template reads."""
    return (
        leased_tasks()
        .filter(pk=assignment_id, worker_id=worker_id, expires_at__gt=timezone.now())
        .first()
    )
