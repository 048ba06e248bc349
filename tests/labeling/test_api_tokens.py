"""API tokens are stored as their SHA-256, shown once, and keep working (issue 12)."""

import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from labeling.models import Role
from labeling.services.users import user_create

BEFORE = [("labeling", "0009_t12_import_leases")]
AFTER = [("labeling", "0010_t12_hashed_api_tokens")]


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def token_tables_hold(token: str) -> bool:
    tables = [name for name in connection.introspection.table_names() if "token" in name]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            if any(token in str(value) for row in cursor.fetchall() for value in row):
                return True
    return False


@pytest.mark.django_db
def test_a_token_is_shown_once_stored_hashed_and_works():
    user, token, created = user_create(username="script", role=Role.MANAGER)
    assert created and len(token) >= 40
    assert not token_tables_hold(token)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest FROM labeling_apitoken WHERE user_id = %s", [user.pk])
        assert cursor.fetchone() == (hashlib.sha256(token.encode()).hexdigest(),)
    assert with_token(token).get("/api/v1/jobs").status_code == 200
    assert with_token(token[:-1] + "x").get("/api/v1/jobs").status_code == 401
    # Asked again, the service cannot show it: only its hash is kept.
    _, again, created = user_create(username="script", role=Role.MANAGER)
    assert (again, created) == ("", False)
    assert with_token(token).get("/api/v1/jobs").status_code == 200


@pytest.mark.django_db
def test_the_api_returns_the_token_at_creation_only(manager_client, team):
    made = manager_client.post("/api/v1/workers", {"username": "w1", "team": team.pk})
    assert made.status_code == 201
    token = made.json()["token"]
    assert with_token(token).get("/api/v1/jobs").status_code == 200
    again = manager_client.post("/api/v1/workers", {"username": "w1", "team": team.pk})
    assert again.status_code == 200 and again.json()["token"] == ""


@pytest.mark.django_db
def test_create_user_prints_the_token_once_and_a_new_one_on_request(capsys):
    call_command("create_user", "ops", "--role", "manager")
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert with_token(first).get("/api/v1/jobs").status_code == 200
    call_command("create_user", "ops", "--role", "manager")
    assert capsys.readouterr().out.strip() == ""
    call_command("create_user", "ops", "--role", "manager", "--new-token")
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second != first
    assert with_token(second).get("/api/v1/jobs").status_code == 200
    assert with_token(first).get("/api/v1/jobs").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_tokens_and_they_keep_working():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(
        [*BEFORE, ("authtoken", "0004_alter_tokenproxy_options")]
    ).apps
    User = old.get_model("labeling", "User")
    Token = old.get_model("authtoken", "Token")
    pm = User.objects.create(username="pm-tokens", role="manager")
    key = "0123456789abcdef0123456789abcdef01234567"
    Token.objects.create(user=pm, key=key)
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        assert not token_tables_hold(key)
        # Today's code reads today's schema: the token, hashed by the migration, still works.
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        assert with_token(key).get("/api/v1/jobs").status_code == 200
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
