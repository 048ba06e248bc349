"""The vendor console (/vendor/): a vendor manager runs their own organization's members and
follows the jobs granted to it. Everything here is scoped to the manager's one vendor team."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling import workforce_selectors
from labeling.errors import QuorumError
from labeling.models import Role
from labeling.services.workforces import (
    vendor_member_add,
    vendor_member_remove,
    vendor_member_reset,
    vendor_team_for,
)
from labeling.views import _page

vendor_page = _page(lambda user: user.role == Role.VENDOR_MANAGER)


def _team(request: HttpRequest):
    try:
        return vendor_team_for(manager=request.user)
    except QuorumError as exc:
        raise PermissionDenied(exc.message) from exc


@require_GET
@vendor_page
def vendor_console(request: HttpRequest) -> HttpResponse:
    context = workforce_selectors.vendor_overview(team=_team(request))
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
