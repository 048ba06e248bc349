"""CreateWorkteam, UpdateWorkteam, DeleteWorkteam: a work team is a Quorum team.

Members are Quorum's (invited in the console, docs/workforces.md): the member definitions
(Cognito or OIDC groups) and the notification topic are kept with the team and echoed back.
"""

from typing import Any

from django.db import transaction

from control_plane.models import WorkteamSpec
from labeling.errors import Conflict
from labeling.models import Job, Team, TeamKind
from labeling.workforces.services.teams import team_create

KEPT = ("MemberDefinitions", "NotificationConfiguration", "WorkerAccessConfiguration", "Tags")


@transaction.atomic
def workteam_create(*, request: dict[str, Any]) -> Team:
    name = request["WorkteamName"]
    if Team.objects.filter(name=name).exists():
        raise Conflict(f"Workteam {name} already exists", code="duplicate_name")
    team = team_create(name=name, kind=TeamKind.PRIVATE, description=request.get("Description", ""))
    WorkteamSpec.objects.create(
        team=team, request={key: request[key] for key in KEPT if key in request}
    )
    return team


@transaction.atomic
def workteam_update(*, team: Team, request: dict[str, Any]) -> Team:
    if "Description" in request:
        team.description = request["Description"]
        team.save(update_fields=["description"])
    spec, _ = WorkteamSpec.objects.select_for_update().get_or_create(
        team=team, defaults={"request": {}}
    )
    spec.request = {**spec.request, **{key: request[key] for key in KEPT if key in request}}
    spec.save(update_fields=["request", "updated_at"])
    return team


@transaction.atomic
def workteam_delete(*, team: Team) -> None:
    if Job.objects.filter(team=team).exists():
        raise Conflict(
            f"Workteam {team.name} has labeling jobs or flows; it cannot be deleted",
            code="in_use",
        )
    team.delete()
