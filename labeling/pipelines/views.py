"""Pipelines' console pages (managers only): defining a taxonomy (its chain shows on each
job's page) and a job's hook calls."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from labeling.errors import QuorumError
from labeling.pipelines import selectors
from labeling.pipelines.forms import TaxonomyForm
from labeling.pipelines.services.hooks import job_hooks_of
from labeling.pipelines.services.taxonomies import taxonomy_create
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


# -- chains (p16-chain) -----------------------------------------------------------------------
@manager_page
def taxonomy_new(request: HttpRequest) -> HttpResponse:
    form = TaxonomyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            taxonomy = taxonomy_create(
                created_by=request.user,
                name=data["name"],
                team=data["team"],
                task_type=data["task_type"],
                definition=data["definition"],
                attributes=data["attributes"],
                workers_per_item=data["workers_per_item"],
            )
        except QuorumError as exc:
            form.add_error(None, exc.message)
        else:
            jobs = taxonomy.links.count() + 1
            messages.success(
                request,
                f"The taxonomy's {jobs} jobs are ready: import items into this first job and "
                "start it; the others start with it.",
            )
            return redirect("console-job", job_id=taxonomy.root_job_id)
    return render(request, "console/taxonomy_new.html", {"form": form})
