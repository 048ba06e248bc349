"""Creating people and scripts that use Quorum, with their API tokens.

A token is shown once, when it is issued; only its SHA-256 is stored (labeling.ApiToken).
"""

import hashlib
import secrets
import string

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from labeling.errors import Conflict, ValidationFailed
from labeling.models import ApiToken, Role, Team, User
from labeling.workforces.services.teams import team_member_add

TOKEN_BYTES = 20  # 40 hex characters, as DRF's tokens


def api_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_issue(*, user: User) -> str:
    """Give ``user`` a new API token, replacing any other; return it (it is not kept)."""
    token = secrets.token_hex(TOKEN_BYTES)
    ApiToken.objects.update_or_create(user=user, defaults={"digest": api_token_digest(token)})
    return token


def api_token_revoke(*, user: User) -> None:
    ApiToken.objects.filter(user=user).delete()


USERNAME_MIN_LENGTH = 3
USERNAME_MAX_LENGTH = 40
_USERNAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "._-")
USERNAME_RULE = (
    f"a name is {USERNAME_MIN_LENGTH} to {USERNAME_MAX_LENGTH} letters, digits, '.', '_' or '-' "
    "(ASCII), starting with a letter or a digit"
)


def password_check(*, user: User, password: str) -> None:
    """Every rule of ``settings.AUTH_PASSWORD_VALIDATORS``; the refusal names the rules broken."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        rules = [error.code or "password_rule" for error in exc.error_list]
        broken = "; ".join(
            f"{rule}: {text}" for rule, text in zip(rules, exc.messages, strict=True)
        )
        raise ValidationFailed(
            f"the password breaks a rule ({broken})",
            code="weak_password",
            details={"field": "password", "rules": rules, "messages": exc.messages},
        ) from exc


def username_check(username: str) -> None:
    """The names anyone may choose for themselves (open sign-up): a safe character set."""
    rule = None
    if len(username) < USERNAME_MIN_LENGTH:
        rule = "too_short"
    elif len(username) > USERNAME_MAX_LENGTH:
        rule = "too_long"
    elif not set(username) <= _USERNAME_CHARACTERS:
        rule = "characters"
    elif not username[0].isalnum():
        rule = "first_character"
    if rule is not None:
        raise ValidationFailed(
            f"the name {username!r} is not allowed ({rule}): {USERNAME_RULE}",
            code="invalid_username",
            details={"field": "username", "rule": rule},
        )


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    team: Team | None = None,
    password: str | None = None,
    email: str = "",
    reset_password: bool = False,
) -> tuple[User, str, bool]:
    """Create the user if needed; return it, its API token and whether it was created.

    The token is returned when the user is created (or has none yet), "" otherwise: only its
    hash is kept, so it cannot be shown again (``api_token_issue`` replaces it).

    An existing user keeps its role, and a different role is refused: a labeler never
    becomes a manager by accident. An existing user's password changes only with
    ``reset_password`` (the operator's command line); through the API it is refused.
    """
    if role not in Role.values:
        raise ValidationFailed(f"role must be one of {', '.join(Role.values)}, not {role!r}")
    username = username.strip()
    if not username:
        raise ValidationFailed("a user needs a name")
    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User(username=username, role=role, email=email)
        if password:
            password_check(user=user, password=password)
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif user.role != role:
        raise ValidationFailed(
            f"user {username!r} exists with role {user.role!r}, not {role!r}",
            code="role_mismatch",
        )
    elif password and not reset_password:
        raise Conflict(
            f"user {username!r} exists already; its password was not changed",
            code="user_exists",
        )
    elif password:
        password_check(user=user, password=password)
        user.set_password(password)
        user.save(update_fields=["password"])
    if team is not None:
        team_member_add(team=team, user=user)
    token = "" if ApiToken.objects.filter(user=user).exists() else api_token_issue(user=user)
    return user, token, created
