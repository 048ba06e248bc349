"""API token authentication in one plain query: it runs on every API request.

Tokens are looked up by their SHA-256 (labeling.ApiToken); the token itself is not stored.
"""

from django.db import DEFAULT_DB_ALIAS, connection
from rest_framework import authentication, exceptions

from labeling.models import User
from labeling.services.users import api_token_digest

# In the model's field order, as Model.from_db expects them.
_USER_FIELDS = tuple(
    field.attname
    for field in User._meta.concrete_fields
    if field.attname in {"id", "username", "role", "is_active", "is_superuser", "is_staff"}
)
_TOKEN_USER = """
SELECT {columns} FROM labeling_apitoken AS token
JOIN labeling_user AS person ON person.id = token.user_id
WHERE token.digest = %s
""".format(columns=", ".join(f"person.{field}" for field in _USER_FIELDS))


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``; the user comes back with only the fields that
    permission checks read (the rest load on first access)."""

    def authenticate_credentials(self, key: str):
        with connection.cursor() as cursor:
            cursor.execute(_TOKEN_USER, [api_token_digest(key)])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user = User.from_db(DEFAULT_DB_ALIAS, list(_USER_FIELDS), row)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, key
