"""Work teams, the private workforce, and vendors' (subscribed) work teams."""

from typing import Any

from django.urls import reverse

from control_plane import arns, selectors
from control_plane.models import WorkteamSpec
from control_plane.operations.common import Call, invalid, not_found, page
from control_plane.services.workteams import workteam_create, workteam_delete, workteam_update
from labeling.models import Team, TeamKind

WORKFORCE_NAME = "default"  # Quorum has one private workforce: its labelers
TEAM_SORT_FIELDS = {"Name": "name", "CreateDate": "created_at"}


def sub_domain(call: Call) -> str:
    """The labeler portal's address: where the team's members sign in and work."""
    return call.request.build_absolute_uri(reverse("work-jobs"))


def _workteam(call: Call, team: Team) -> dict[str, Any]:
    try:
        kept = team.workteam_spec.request
        updated = team.workteam_spec.updated_at
    except WorkteamSpec.DoesNotExist:
        kept, updated = {}, team.created_at
    body = {
        "WorkteamName": team.name,
        "MemberDefinitions": kept.get("MemberDefinitions", []),
        "WorkteamArn": arns.workteam_arn(team.kind, team.name),
        "WorkforceArn": arns.quorum_arn("workforce", WORKFORCE_NAME),
        "Description": team.description or team.name,
        "SubDomain": sub_domain(call),
        "CreateDate": team.created_at,
        "LastUpdatedDate": updated,
    }
    for name in ("NotificationConfiguration", "WorkerAccessConfiguration"):
        if name in kept:
            body[name] = kept[name]
    return body


def _team(name: str) -> Team:
    team = selectors.workteam_get(name=name)
    if team is None:
        raise not_found(f"Workteam {name} does not exist")
    return team


def create_workteam(call: Call) -> dict[str, Any]:
    workforce = call.get("WorkforceName")
    if workforce and workforce != WORKFORCE_NAME:
        raise not_found(f"Workforce {workforce} does not exist; Quorum's is {WORKFORCE_NAME!r}")
    team = workteam_create(request=call.body)
    return {"WorkteamArn": arns.workteam_arn(team.kind, team.name)}


def describe_workteam(call: Call) -> dict[str, Any]:
    return {"Workteam": _workteam(call, _team(call.get("WorkteamName")))}


def list_workteams(call: Call) -> dict[str, Any]:
    teams = selectors.workteams()
    if call.get("NameContains"):
        teams = teams.filter(name__icontains=call.get("NameContains"))
    field = TEAM_SORT_FIELDS[call.get("SortBy") or "CreateDate"]
    # The model: "The default is Ascending".
    rows, token = page(teams, call, field=field, listing="workteams", default_ascending=True)
    return {"Workteams": [_workteam(call, team) for team in rows], **token}


def update_workteam(call: Call) -> dict[str, Any]:
    team = workteam_update(team=_team(call.get("WorkteamName")), request=call.body)
    team = selectors.workteam_get(name=team.name)
    return {"Workteam": _workteam(call, team)}


def delete_workteam(call: Call) -> dict[str, Any]:
    workteam_delete(team=_team(call.get("WorkteamName")))
    return {"Success": True}


def _workforce(call: Call) -> dict[str, Any]:
    first = Team.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return {
        "WorkforceName": WORKFORCE_NAME,
        "WorkforceArn": arns.quorum_arn("workforce", WORKFORCE_NAME),
        "SubDomain": sub_domain(call),
        "SourceIpConfig": {"Cidrs": []},
        "CreateDate": first,
        "LastUpdatedDate": first,
        "Status": "Active",
    }


def describe_workforce(call: Call) -> dict[str, Any]:
    if call.get("WorkforceName") != WORKFORCE_NAME:
        raise not_found(
            f"Workforce {call.get('WorkforceName')} does not exist; Quorum's private workforce "
            f"is {WORKFORCE_NAME!r}"
        )
    return {"Workforce": _workforce(call)}


def list_workforces(call: Call) -> dict[str, Any]:
    name = call.get("NameContains")
    workforces = [_workforce(call)] if not name or name in WORKFORCE_NAME else []
    return {"Workforces": workforces}


def _subscribed(team: Team) -> dict[str, Any]:
    return {
        "WorkteamArn": arns.workteam_arn(team.kind, team.name),
        "MarketplaceTitle": team.name,
        "SellerName": team.vendor_manager.username if team.vendor_manager else team.name,
        "MarketplaceDescription": team.description or team.name,
        "ListingId": str(team.pk),
    }


def list_subscribed_workteams(call: Call) -> dict[str, Any]:
    teams = selectors.workteams(kind=TeamKind.VENDOR).select_related("vendor_manager")
    if call.get("NameContains"):
        teams = teams.filter(name__icontains=call.get("NameContains"))
    rows, token = page(
        teams, call, field="name", listing="subscribed-workteams", default_ascending=True
    )
    return {"SubscribedWorkteams": [_subscribed(team) for team in rows], **token}


def describe_subscribed_workteam(call: Call) -> dict[str, Any]:
    arn = call.get("WorkteamArn")
    try:
        name = arns.resource_name(arn, field="WorkteamArn", kind="workteam/vendor-crowd")
    except arns.ArnRefused as exc:
        raise invalid(str(exc)) from None
    team = selectors.workteam_get(name=name, kind=TeamKind.VENDOR)
    if team is None:
        raise not_found(f"Subscribed workteam {arn} does not exist")
    return {"SubscribedWorkteam": _subscribed(team)}


OPERATIONS = {
    "CreateWorkteam": create_workteam,
    "DescribeWorkteam": describe_workteam,
    "ListWorkteams": list_workteams,
    "UpdateWorkteam": update_workteam,
    "DeleteWorkteam": delete_workteam,
    "DescribeWorkforce": describe_workforce,
    "ListWorkforces": list_workforces,
    "ListSubscribedWorkteams": list_subscribed_workteams,
    "DescribeSubscribedWorkteam": describe_subscribed_workteam,
}
