"""Custom task templates: create, save a new version, preview, and attach one to a job."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from labeling.errors import Conflict, NotFound, ValidationFailed
from labeling.models import CustomTemplate, CustomTemplateVersion, Job, JobTemplate, User
from labeling.states import JobStatus
from labeling.task_ui.custom import (
    TemplateProblem,
    compile_template,
    render_custom,
    sample_task,
)


def _problem_error(problem: TemplateProblem) -> ValidationFailed:
    return ValidationFailed(str(problem), details=problem.as_details(), code="template_error")


def template_check(*, source: str, sample: Any) -> str:
    """The HTML of ``source`` rendered on ``sample``; raises ``ValidationFailed`` with the
    line and column of the problem (code ``template_error``)."""
    try:
        compile_template(source)
        return render_custom(source, sample_task(sample))
    except TemplateProblem as problem:
        raise _problem_error(problem) from None
    except ValueError as exc:  # a sample that is not JSON
        raise ValidationFailed(f"the sample item is not valid JSON: {exc}") from None


@transaction.atomic
def custom_template_create(
    *, created_by: User, name: str, source: str, sample: Any = None, description: str = ""
) -> CustomTemplate:
    name = name.strip()
    if not name:
        raise ValidationFailed("a template needs a name", details={"field": "name"})
    template_check(source=source, sample=sample or {})
    try:
        with transaction.atomic():
            template = CustomTemplate.objects.create(
                name=name, description=description, created_by=created_by
            )
    except IntegrityError:
        raise Conflict(f"there is already a template named {name!r}") from None
    custom_template_save(template=template, source=source, sample=sample, by=created_by)
    template.refresh_from_db(fields=["latest_version"])
    return template


@transaction.atomic
def custom_template_save(
    *, template: CustomTemplate, source: str, sample: Any, by: User
) -> CustomTemplateVersion:
    """A new version of ``template``; a template that does not render is refused."""
    sample = sample if isinstance(sample, dict) else {}
    template_check(source=source, sample=sample)
    updated = CustomTemplate.objects.filter(pk=template.pk).update(
        latest_version=F("latest_version") + 1
    )
    if updated != 1:
        raise NotFound(f"there is no template {template.pk}")
    number = CustomTemplate.objects.values_list("latest_version", flat=True).get(pk=template.pk)
    return CustomTemplateVersion.objects.create(
        template=template, number=number, source=source, sample=sample, created_by=by
    )


@transaction.atomic
def job_template_set(*, job: Job, version: CustomTemplateVersion, by: User) -> JobTemplate:
    """Render ``job``'s tasks with ``version``; only before the job starts."""
    if job.status != JobStatus.DRAFT:
        raise Conflict(
            "a job's template can only change while the job is a draft",
            details={"status": job.status},
        )
    link, _ = JobTemplate.objects.update_or_create(
        job=job, defaults={"version": version, "set_by": by}
    )
    return link
