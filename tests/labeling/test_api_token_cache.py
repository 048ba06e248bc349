"""A web process remembers whose an API token is for a few seconds (issue 20), and forgets it
at once when the token is revoked or replaced or its user changes."""

import pytest
from django.db import connection
from rest_framework.test import APIClient

from labeling import authentication
from labeling.models import Role, User
from labeling.services.users import (
    api_token_digest,
    api_token_issue,
    api_token_revoke,
    user_create,
)

pytestmark = pytest.mark.django_db


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def script():
    authentication._REMEMBERED.clear()
    user, token, _ = user_create(username="script", role=Role.MANAGER)
    assert with_token(token).get("/api/v1/jobs").status_code == 200  # now remembered
    return user, token


def _delete_tokens_behind_this_process(user: User) -> None:
    """What another web process's revocation looks like from here: no signal in this one."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM labeling_apitoken WHERE user_id = %s", [user.pk])


def test_a_revoked_token_is_refused_at_once_in_the_revoking_process(script):
    user, token = script
    api_token_revoke(user=user)
    assert with_token(token).get("/api/v1/jobs").status_code == 401


def test_a_replaced_token_is_refused_at_once(script):
    user, token = script
    new = api_token_issue(user=user)
    assert with_token(token).get("/api/v1/jobs").status_code == 401
    assert with_token(new).get("/api/v1/jobs").status_code == 200


def test_a_deactivated_user_is_refused_at_once(script):
    user, token = script
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert with_token(token).get("/api/v1/jobs").status_code == 401


def test_a_user_whose_role_changed_gets_the_new_role_at_once(script):
    user, token = script
    user.role = Role.LABELER
    user.save(update_fields=["role"])
    assert with_token(token).post("/api/v1/teams", {"name": "t"}).status_code == 403


def test_another_process_revocation_holds_within_the_cache_time(script, settings):
    user, token = script
    _delete_tokens_behind_this_process(user)
    assert with_token(token).get("/api/v1/jobs").status_code == 200  # remembered
    digest = api_token_digest(token)
    row, read_at = authentication._REMEMBERED[digest]
    aged = read_at - settings.QUORUM_API_TOKEN_CACHE_SECONDS - 0.1  # the cache time has passed
    authentication._REMEMBERED[digest] = (row, aged)
    assert with_token(token).get("/api/v1/jobs").status_code == 401


def test_no_cache_time_reads_every_request(script, settings):
    settings.QUORUM_API_TOKEN_CACHE_SECONDS = 0
    user, token = script
    _delete_tokens_behind_this_process(user)
    assert with_token(token).get("/api/v1/jobs").status_code == 401
