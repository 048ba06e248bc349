"""Portal pages of the workforces: crowd sign-up, the marketplace with earnings, qualification
tests, a team's invitations; and the vendor console (/vendor/), where a vendor manager runs their
own organization's members and follows the jobs granted to it, scoped to their one vendor team."""

import json

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labeling.errors import QuorumError, ValidationFailed
from labeling.models import Role, Team
from labeling.quality.services.reliability import job_quality_configure
from labeling.throttling import SignupThrottled, signup_throttle_check
from labeling.views import _manager_job, _page, labeler_page, manager_page
from labeling.workforces import selectors
from labeling.workforces.services.workforces import (
    crowd_signup,
    invitation_accept,
    invitation_create,
    invitation_open,
    job_grant,
    job_publish,
    job_unpublish,
    marketplace_join,
    qualification_questions,
    qualification_take,
    vendor_member_add,
    vendor_member_remove,
    vendor_member_reset,
    vendor_team_for,
)

INVITATION_HOURS = 72


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Open sign-up of a crowd worker; they land on the marketplace, signed in."""
    error = ""
    status = 200
    retry_after = None
    if request.method == "POST":
        try:
            signup_throttle_check(request=request, username=request.POST.get("username", ""))
            user, _ = crowd_signup(
                username=request.POST.get("username", ""),
                password=request.POST.get("password", ""),
                email=request.POST.get("email", ""),
            )
        except SignupThrottled as exc:
            error, status, retry_after = exc.message, 429, exc.retry_after
        except QuorumError as exc:
            error = exc.message
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Pick a job to work on.")
            return redirect("work-marketplace")
    context = {"error": error, "form": request.POST}
    response = render(request, "work/signup.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_GET
@labeler_page
def marketplace(request: HttpRequest) -> HttpResponse:
    context = {
        "jobs": selectors.marketplace_jobs(worker=request.user),
        "earnings": selectors.worker_earnings(worker=request.user),
    }
    return render(request, "work/marketplace.html", context)


@require_POST
@labeler_page
def marketplace_join_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        job = marketplace_join(job_id=job_id, worker=request.user)
    except QuorumError as exc:
        messages.error(request, f"You did not join: {exc.message}.")
        return redirect("work-marketplace")
    return redirect("work-job", job_id=job.pk)


@require_http_methods(["GET", "POST"])
@labeler_page
def qualification_view(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        questions = qualification_questions(job_id=job_id, worker=request.user)
    except QuorumError as exc:
        messages.error(request, exc.message)
        return redirect("work-marketplace")
    if request.method == "POST":
        answers = {q["item_id"]: request.POST.get(f"q{q['item_id']}", "") for q in questions}
        try:
            attempt = qualification_take(job_id=job_id, worker=request.user, answers=answers)
        except QuorumError as exc:
            messages.error(request, exc.message)
        else:
            if attempt.passed:
                messages.success(request, f"Passed ({attempt.correct}/{attempt.questions}).")
                return redirect("work-job", job_id=job_id)
            messages.error(
                request, f"Not passed ({attempt.correct}/{attempt.questions}): not this job."
            )
            return redirect("work-marketplace")
    labels = selectors.job_labels(job_id=job_id)
    for question in questions:
        data = json.loads(question["data"])
        question["source"] = data.get("source") or data.get("source-ref") or ""
    return render(
        request,
        "work/qualification.html",
        {"questions": questions, "labels": labels, "job_id": job_id},
    )


@require_POST
@manager_page
def team_invite_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        messages.error(request, "There is no such team.")
        return redirect("console-teams")
    try:
        invitation = invitation_create(team=team, by=request.user, hours=INVITATION_HOURS)
    except QuorumError as exc:
        messages.error(request, exc.message)
    else:
        link = request.build_absolute_uri(f"/join/{invitation.token}")
        messages.success(
            request,
            f"Invitation link to {team.name}, valid until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC: {link}",
        )
    return redirect("console-teams")


@require_http_methods(["GET", "POST"])
def join_team(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: join as the signed-in labeler, or sign up and join. A link that is
    not valid (404) or has expired (409) answers so, without the form."""
    error, status, closed = "", 200, False
    user = request.user if request.user.is_authenticated else None
    try:
        invitation_open(token=token)
    except QuorumError as exc:
        error, status, closed = exc.message, exc.status_code, True
    if request.method == "POST" and not closed:
        try:
            joined, team, new_token = invitation_accept(
                token=token,
                user=user,
                username=request.POST.get("username", ""),
                password=request.POST.get("password", ""),
            )
        except QuorumError as exc:
            error, status = exc.message, exc.status_code
        else:
            if new_token:
                login(request, joined, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"You are on {team.name} now.")
            return redirect("work-jobs")
    context = {
        "error": error,
        "closed": closed,
        "signed_in_labeler": user is not None and user.role == Role.LABELER,
    }
    return render(request, "work/join.html", context, status=status)


@require_http_methods(["GET", "POST"])
@manager_page
def job_workforce_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """Who works on a job: the data statement, the team it is granted to, the marketplace."""
    job = _manager_job(request, job_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "statement":
                job_quality_configure(
                    job=job, data_may_leave_private=request.POST.get("data_may_leave") == "on"
                )
                messages.success(request, "The data statement is saved.")
            elif action == "grant":
                team = Team.objects.filter(pk=request.POST.get("team") or 0).first()
                if team is None:
                    raise ValidationFailed("choose a team")
                job_grant(job=job, team=team)
                messages.success(request, f"The job is now {team.name}'s.")
            elif action == "publish":
                mark = (request.POST.get("pass_mark") or "").strip()
                job_publish(
                    job=job,
                    reward_cents=int(request.POST.get("reward_cents") or 0),
                    qualification_pass_mark=float(mark) if mark else None,
                )
                messages.success(request, "The job is on the marketplace.")
            elif action == "unpublish":
                job_unpublish(job=job)
                messages.success(request, "The job is off the marketplace.")
        except ValueError:
            messages.error(request, "Nothing changed: enter numbers.")
        except QuorumError as exc:
            messages.error(request, f"Nothing changed: {exc.message}.")
        return redirect("console-job-workforce", job_id=job_id)
    context = {"job": job, "teams": Team.objects.order_by("name")}
    return render(request, "console/job_workforce.html", context)


# The vendor console.

vendor_page = _page(lambda user: user.role == Role.VENDOR_MANAGER)


def _team(request: HttpRequest):
    try:
        return vendor_team_for(manager=request.user)
    except QuorumError as exc:
        raise PermissionDenied(exc.message) from exc


@require_GET
@vendor_page
def vendor_console(request: HttpRequest) -> HttpResponse:
    context = selectors.vendor_overview(team=_team(request))
    return render(request, "vendor/console.html", context)


@require_POST
@vendor_page
def vendor_member_add_view(request: HttpRequest) -> HttpResponse:
    _team(request)
    username = request.POST.get("username", "")
    try:
        user, _ = vendor_member_add(
            manager=request.user, username=username, password=request.POST.get("password", "")
        )
    except QuorumError as exc:
        messages.error(request, f"Nobody was added: {exc.message}.")
    else:
        messages.success(request, f"“{user.username}” is a member now.")
    return redirect("vendor-console")


@require_POST
@vendor_page
def vendor_member_remove_view(request: HttpRequest, user_id: int) -> HttpResponse:
    _team(request)
    try:
        vendor_member_remove(manager=request.user, user_id=user_id)
    except QuorumError as exc:
        messages.error(request, f"Nobody was removed: {exc.message}.")
    else:
        messages.success(request, "The member was removed; their answers are kept.")
    return redirect("vendor-console")


@require_POST
@vendor_page
def vendor_member_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    _team(request)
    try:
        password = vendor_member_reset(manager=request.user, user_id=user_id)
    except QuorumError as exc:
        messages.error(request, f"Nothing was reset: {exc.message}.")
    else:
        messages.success(
            request,
            f"New invitation: the member signs in with this one-time password, shown only "
            f"now: {password} (their old password and API token no longer work).",
        )
    return redirect("vendor-console")
