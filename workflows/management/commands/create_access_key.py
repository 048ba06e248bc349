"""manage.py create_access_key USERNAME: issue a runtime-API key pair; the pair is the last line."""

from django.core.management.base import BaseCommand, CommandError

from labeling.errors import QuorumError
from labeling.models import User
from workflows.services.access_keys import access_key_create


class Command(BaseCommand):
    help = (
        "Issue an access key pair for the review-loop runtime API (/a2i/) to a manager; "
        "prints ACCESS_KEY_ID SECRET_ACCESS_KEY as the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"there is no user {username!r}")
        try:
            key = access_key_create(user=user)
        except QuorumError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Issued to {user.username}; the secret is shown only now. "
            "Use it with endpoint_url=<quorum>/a2i and any region."
        )
        self.stdout.write(f"{key.access_key_id} {key.secret_access_key}")
