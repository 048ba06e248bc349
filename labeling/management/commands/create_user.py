"""manage.py create_user NAME --role manager|labeler [--team T] [--password P] [--new-token]."""

from django.core.management.base import BaseCommand, CommandError

from labeling.errors import QuorumError
from labeling.models import Role, Team
from labeling.services.users import api_token_issue, user_create
from labeling.workforces.services.teams import team_create


class Command(BaseCommand):
    help = (
        "Create a user if needed (a labeler may join team T, made if missing); print its new "
        "API token last. A token is shown once: --new-token replaces an existing user's."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", choices=Role.values, required=True)
        parser.add_argument("--team", default=None, help="team name; created if it does not exist")
        parser.add_argument("--password", default=None)
        parser.add_argument(
            "--new-token",
            action="store_true",
            help="replace the user's API token (the old one stops working) and print the new one",
        )

    def handle(
        self,
        *args,
        name: str,
        role: str,
        team: str | None,
        password: str | None,
        new_token: bool,
        **kw,
    ):
        try:
            team_obj = None
            if team:
                team_obj = Team.objects.filter(name=team).first() or team_create(name=team)
            user, token, created = user_create(
                username=name, role=role, team=team_obj, password=password, reset_password=True
            )
        except QuorumError as exc:
            raise CommandError(exc.message) from None
        if new_token and not token:
            token = api_token_issue(user=user)
        verb = "created" if created else "exists"
        where = f" on team {team_obj.name!r}" if team_obj else ""
        self.stderr.write(f"{role} {user.username!r} {verb}{where}")
        if token:
            self.stdout.write(token)
        else:
            self.stderr.write(
                "its API token was shown when it was issued and is kept only as a hash; "
                "--new-token replaces it"
            )
