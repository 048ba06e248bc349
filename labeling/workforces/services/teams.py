"""Creating teams and managing who is on them."""

from django.db import IntegrityError, transaction

from labeling.errors import Conflict, ValidationFailed
from labeling.models import Role, Team, TeamKind, TeamMembership, User


def team_create(*, name: str, kind: str = TeamKind.PRIVATE, description: str = "") -> Team:
    name = name.strip()
    if not name:
        raise ValidationFailed("a team needs a name", details={"field": "name"})
    if kind not in TeamKind.values:
        raise ValidationFailed(
            f"a team is private, crowd or vendor, not {kind!r}", details={"field": "kind"}
        )
    try:
        with transaction.atomic():
            return Team.objects.create(name=name, kind=kind, description=description)
    except IntegrityError:
        raise Conflict(f"a team named {name!r} exists already", code="duplicate_name") from None


def team_member_add(*, team: Team, user: User) -> TeamMembership:
    if user.role != Role.LABELER:
        raise ValidationFailed(f"only labelers can join a team; {user.username!r} is a {user.role}")
    membership, _ = TeamMembership.objects.get_or_create(team=team, user=user)
    return membership


def team_member_remove(*, team: Team, user: User) -> None:
    TeamMembership.objects.filter(team=team, user=user).delete()
