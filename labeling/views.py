"""HTML views: the labeler portal (/work/) and the manager console (/console/).

Thin: reads go through selectors, writes through one service each, input through a form.
The pages' scripts talk to the REST API themselves (claim, submit, skip, import).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import LoginView, redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labeling import selectors
from labeling.errors import QuorumError
from labeling.forms import JobCreateForm, LabelerAddForm, SigninForm, TeamCreateForm
from labeling.models import Job, Role, TeamKind
from labeling.pipelines.selectors import chain_console
from labeling.review.services.reviews import job_may_review
from labeling.services.jobs import job_create, job_start, job_stop
from labeling.services.users import user_create
from labeling.states import JobStatus
from labeling.task_types import get_task_type
from labeling.task_types.base import holds_several_labels
from labeling.task_ui.rendering import TaskRenderError, task_ui_html
from labeling.workforces.services.teams import team_create

View = Callable[..., HttpResponse]
JOBS_PER_PAGE = 50
RECENT_IMPORTS = 10


def _page(role_check: Callable[[Any], bool]) -> Callable[[View], View]:
    """Sign-in required, then ``role_check`` or 403 (labeling/middleware.py adds the strict
    Content-Security-Policy to every page)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not role_check(request.user):
                raise PermissionDenied("this page is not for your role")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def signin_throttle_status(view: View) -> View:
    """A sign-in page whose form was refused by the throttle answers 429 with Retry-After."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        context = getattr(response, "context_data", None) or {}
        throttled = getattr(context.get("form"), "throttled", None)
        if throttled is not None:
            response.status_code = 429
            response["Retry-After"] = str(throttled.retry_after)
        return response

    return wrapper


signin = signin_throttle_status(LoginView.as_view(authentication_form=SigninForm))
signed_in = _page(lambda user: True)
labeler_page = _page(lambda user: user.role == Role.LABELER)
manager_page = _page(lambda user: user.is_manager)


def _manager_job(request: HttpRequest, job_id: int) -> Job:
    job = selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("no such job")
    return job


# --- Everyone --------------------------------------------------------------------------------


@require_GET
@signed_in
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_manager:
        return redirect("console-jobs")
    if request.user.role == Role.VENDOR_MANAGER:
        return redirect("vendor-console")
    return redirect("work-jobs")


# --- Labeler portal --------------------------------------------------------------------------


@require_GET
@labeler_page
def work_jobs(request: HttpRequest) -> HttpResponse:
    rows = selectors.labeler_job_list(user=request.user)
    return render(request, "work/jobs.html", {"rows": rows})


@require_GET
@labeler_page
def work_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("no such job on your teams")
    return render(
        request,
        "work/job.html",
        {
            "job": job,
            "open_for_work": job.status == JobStatus.IN_PROGRESS,
            "may_review": job_may_review(job=job, user=request.user),  # issue 14
        },
    )


@require_GET
@labeler_page
def task_ui(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The task UI fragment of the requesting worker's own live lease (404 for any other):
    a custom template's sandboxed frame, or the built-in UI."""
    assignment = selectors.leased_task_for_worker(assignment_id=assignment_id, user=request.user)
    if assignment is None:
        raise Http404("no such task of yours")
    try:
        html = task_ui_html(assignment)
    except TaskRenderError as exc:
        return HttpResponse(str(exc), status=500, content_type="text/plain; charset=utf-8")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


# --- Manager console -------------------------------------------------------------------------


@require_GET
@manager_page
def console_jobs(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.console_job_list(), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    jobs = list(page.object_list)
    leases = selectors.job_list_counts(jobs=jobs)
    rows = [{"job": job, "leases": leases.get(job.pk, 0)} for job in jobs]
    return render(request, "console/jobs.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@manager_page
def job_new(request: HttpRequest) -> HttpResponse:
    teams = selectors.teams_for_user(user=request.user)
    form = JobCreateForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            job = job_create(created_by=request.user, **form.service_kwargs())
        except QuorumError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Job “{job.name}” created. Import items, then start it.")
            return redirect("console-job", job_id=job.pk)
    return render(request, "console/job_new.html", {"form": form, "has_teams": teams.exists()})


@require_GET
@manager_page
def job_dashboard(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    task_type = get_task_type(job.task_type)
    context = {
        "job": job,
        "task_type": task_type,
        # Multi-label, boxes, polygons, masks, spans: an item counts under each label it holds.
        "several_labels": holds_several_labels(task_type),
        "counts": selectors.job_counts(job=job),
        "workers": selectors.worker_stats(job=job),
        "distribution": selectors.label_distribution(job=job),
        "labels_over_time": selectors.labels_over_time(job=job),
        "imports": selectors.job_recent_imports(job=job, limit=RECENT_IMPORTS),
        "accepts_items": job.status in (JobStatus.DRAFT, JobStatus.IN_PROGRESS),
        "chain": chain_console(job=job),  # issue 16: the job's chain, if it is in one
    }
    return render(request, "console/job_dashboard.html", context)


@require_POST
@manager_page
def job_start_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job_start(job=_manager_job(request, job_id), by=request.user)
    except QuorumError as exc:
        messages.error(request, f"The job was not started: {exc.message}.")
    else:
        messages.success(request, "The job started: labelers of its team can work on it now.")
    return redirect("console-job", job_id=job_id)


@require_POST
@manager_page
def job_stop_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job_stop(job=_manager_job(request, job_id), by=request.user)
    except QuorumError as exc:
        messages.error(request, f"The job was not stopped: {exc.message}.")
    else:
        messages.success(
            request,
            "The job stopped: it leases no more tasks; answers on tasks already leased are kept.",
        )
    return redirect("console-job", job_id=job_id)


def _teams_page(
    request: HttpRequest, team_form: TeamCreateForm, labeler_form: LabelerAddForm
) -> HttpResponse:
    context = {
        "teams": selectors.teams_with_members(),
        "team_form": team_form,
        "labeler_form": labeler_form,
    }
    return render(request, "console/teams.html", context)


@require_http_methods(["GET", "POST"])
@manager_page
def teams(request: HttpRequest) -> HttpResponse:
    """The teams page; its POST creates a team."""
    all_teams = selectors.teams_for_user(user=request.user)
    team_form = TeamCreateForm(request.POST or None, prefix="team")
    labeler_form = LabelerAddForm(prefix="labeler", teams=all_teams)
    if request.method == "POST" and team_form.is_valid():
        try:
            team = team_create(
                name=team_form.cleaned_data["name"],
                kind=team_form.cleaned_data["kind"] or TeamKind.PRIVATE,
            )
        except QuorumError as exc:
            team_form.add_service_error(exc)
        else:
            messages.success(request, f"Team “{team.name}” created.")
            return redirect("console-teams")
    return _teams_page(request, team_form, labeler_form)


@require_POST
@manager_page
def labeler_add(request: HttpRequest) -> HttpResponse:
    """Create a labeler (or take an existing one) and put them on a team."""
    all_teams = selectors.teams_for_user(user=request.user)
    team_form = TeamCreateForm(prefix="team")
    form = LabelerAddForm(request.POST, prefix="labeler", teams=all_teams)
    if form.is_valid():
        data = form.cleaned_data
        try:
            user, _, created = user_create(
                username=data["username"],
                role=Role.LABELER,
                team=data["team"],
                password=data["password"] or None,
            )
        except QuorumError as exc:
            form.add_service_error(exc)
        else:
            verb = "created and added" if created else "added"
            messages.success(request, f"Labeler “{user.username}” {verb} to {data['team'].name}.")
            return redirect("console-teams")
    return _teams_page(request, team_form, form)
