"""Pipelines' console pages: defining a taxonomy (its chain shows on each job's page)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from labeling.errors import QuorumError
from labeling.pipelines.forms import TaxonomyForm
from labeling.pipelines.services.taxonomies import taxonomy_create
from labeling.views import manager_page


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
