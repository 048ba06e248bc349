"""API token authentication in one plain query, remembered briefly: it runs on every API request.

Tokens are looked up by their SHA-256 (labeling.ApiToken); the token itself is not stored.
A web process remembers whose a token is (the few user fields permission checks read) for
``QUORUM_API_TOKEN_CACHE_SECONDS`` after reading it (issue 20: the lookup was one database
round trip of every request, two per answer of the labeling loop). Issuing or revoking a
token, or saving its user (deactivated, another role), forgets it at once in that process;
the other processes read it again within that time (as the runtime API's access keys,
workflows/selectors.py ``signing_secret``).
"""

import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models.signals import post_delete, post_save
from rest_framework import authentication, exceptions

from labeling.models import ApiToken, User
from labeling.services.users import api_token_digest

# In the model's field order, as Model.from_db expects them.
_USER_FIELDS = tuple(
    field.attname
    for field in User._meta.concrete_fields
    if field.attname in {"id", "username", "role", "is_active", "is_superuser", "is_staff"}
)
_USER_ID = _USER_FIELDS.index("id")
_TOKEN_USER = """
SELECT {columns} FROM labeling_apitoken AS token
JOIN labeling_user AS person ON person.id = token.user_id
WHERE token.digest = %s
""".format(columns=", ".join(f"person.{field}" for field in _USER_FIELDS))

# digest -> (the user's row, when it was read); bounded: cleared when full.
_REMEMBERED: dict[str, tuple[tuple, float]] = {}
REMEMBERED_MAX = 10_000


def _token_user_row(digest: str) -> tuple | None:
    remembered = _REMEMBERED.get(digest)
    now = time.monotonic()
    if remembered is not None and now - remembered[1] < settings.QUORUM_API_TOKEN_CACHE_SECONDS:
        return remembered[0]
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_USER, [digest])
        row = cursor.fetchone()
    if row is None:
        _REMEMBERED.pop(digest, None)
        return None
    if settings.QUORUM_API_TOKEN_CACHE_SECONDS > 0:
        if len(_REMEMBERED) >= REMEMBERED_MAX:
            _REMEMBERED.clear()
        _REMEMBERED[digest] = (row, now)
    return row


def forget_user_tokens(*, user_id: int) -> None:
    """Forget what this process remembers of ``user_id``'s tokens."""
    for digest, (row, _) in list(_REMEMBERED.items()):
        if row[_USER_ID] == user_id:
            _REMEMBERED.pop(digest, None)


def _forget_on_change(sender, instance, **_kwargs) -> None:
    forget_user_tokens(user_id=instance.pk if sender is User else instance.user_id)


post_save.connect(_forget_on_change, sender=ApiToken, dispatch_uid="api-token-saved")
post_delete.connect(_forget_on_change, sender=ApiToken, dispatch_uid="api-token-deleted")
post_save.connect(_forget_on_change, sender=User, dispatch_uid="api-token-user-saved")


def token_user(key: str) -> User | None:
    """Whose API token ``key`` is (active or not), with only the fields permission checks
    read (the rest load on first access); None for no such token."""
    row = _token_user_row(api_token_digest(key))
    if row is None:
        return None
    return User.from_db(DEFAULT_DB_ALIAS, list(_USER_FIELDS), row)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``; the user comes back with only the fields that
    permission checks read (the rest load on first access)."""

    def authenticate_credentials(self, key: str):
        user = token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, key
