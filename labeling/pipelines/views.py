"""Pipelines' console pages (managers only)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.pipelines import selectors
from labeling.pipelines.services.hooks import job_hooks_of
from labeling.views import _manager_job, manager_page

# --- Hooks -----------------------------------------------------------------------------------


@require_GET
@manager_page
def job_hooks_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """A job's hooks: which, the items they hold or failed, the last calls and failures."""
    job = _manager_job(request, job_id)
    return render(
        request,
        "console/job_hooks.html",
        {
            "job": job,
            "hooks": job_hooks_of(job.pk),
            "counts": selectors.hook_item_counts(job_id=job.pk),
            "calls": selectors.hook_calls_recent(job_id=job.pk),
            "failures": selectors.hook_failed_items(job_id=job.pk),
        },
    )
