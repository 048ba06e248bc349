"""Shared fixtures: users, a team, jobs with items, API clients; Celery runs tasks eagerly.

Tests that need a real broker worker or PostgreSQL use the fixtures in tests/services.py and
skip with the reason when the service is absent.
"""

import json
import os
import uuid

import pytest
from celery.result import _set_task_join_will_block
from django.conf import settings
from rest_framework.test import APIClient

from config.celery import app
from labeling.data.services.imports import import_run, import_stage_manifest
from labeling.models import ApiToken, Role
from labeling.services.jobs import job_create, job_start
from labeling.services.users import api_token_digest, api_token_issue, user_create
from labeling.workforces.services.teams import team_create


@pytest.fixture(autouse=True)
def _eager_celery_and_media(settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.QUORUM_THROTTLE_NAMESPACE = f"test-throttle-{uuid.uuid4().hex}"  # counters per test
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
    # An eager task marks the process "inside a task" while it runs and restores the mark after;
    # run from several threads at once (tests/labeling/services/test_claim_concurrency.py) the
    # restores interleave and can leave it set, and a later test's ``result.get()`` then raises
    # "Never call result.get() within a task!". Each test starts outside any task.
    _set_task_join_will_block(False)


@pytest.fixture
def manager(db):
    user, _, _ = user_create(username="pm", role=Role.MANAGER, password="manager-pass-1")
    return user


@pytest.fixture
def team(db):
    return team_create(name="Team A")


@pytest.fixture
def make_labeler(db, team):
    def make(name: str, on_team=team):
        user, _, _ = user_create(username=name, role=Role.LABELER, team=on_team)
        # Test data, set past the password rules (tested on their own) so short names work.
        user.set_password(f"{name}-pass-1")
        user.save(update_fields=["password"])
        return user

    return make


@pytest.fixture
def labeler(make_labeler):
    return make_labeler("lab1")


def import_lines(job, manager, lines: list[dict]):
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    run = import_stage_manifest(job=job, created_by=manager, chunks=[body])
    run = import_run(import_id=run.pk)
    job.refresh_from_db()
    return run


@pytest.fixture
def make_job(db, manager, team):
    def make(*, items: int = 3, workers_per_item: int = 1, start: bool = True, **fields):
        values = {
            "name": f"job-{make.counter}",
            "task_type": "text-classification",
            "labels": ["cat", "dog", "bird"],
            "team": team,
            "workers_per_item": workers_per_item,
        }
        values.update(fields)
        make.counter += 1
        job = job_create(created_by=manager, **values)
        if items:
            run = import_lines(
                job, manager, [{"source": f"text {i}", "n": i} for i in range(items)]
            )
            assert run.status == "succeeded", run.errors
        if start:
            job_start(job=job, by=manager)
        return job

    make.counter = 1
    return make


# Tokens are stored hashed and shown once: the plain ones this test run issued, per user id.
_ISSUED_TOKENS: dict[int, str] = {}


def client_for(user) -> APIClient:
    """An API client with ``user``'s token (one token per user, issued on first use)."""
    token = _ISSUED_TOKENS.get(user.pk)
    if (
        token is None
        or not ApiToken.objects.filter(user_id=user.pk, digest=api_token_digest(token)).exists()
    ):
        token = _ISSUED_TOKENS[user.pk] = api_token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def manager_client(manager):
    return client_for(manager)


@pytest.fixture
def labeler_client(labeler):
    return client_for(labeler)


def using_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(scope="session", autouse=True)
def _services_are_really_used():
    """In CI's services run (QUORUM_REQUIRE_SERVICES=1) a missing service fails the run."""
    if not os.environ.get("QUORUM_REQUIRE_SERVICES"):
        return
    assert using_postgres(), "QUORUM_REQUIRE_SERVICES is set but DATABASE_URL is not PostgreSQL"
    assert settings.REDIS_URL, "QUORUM_REQUIRE_SERVICES is set but REDIS_URL is empty"


# The live S3 server of the storage tests (moto's standalone server, started on first use).
from tests.s3 import moto_server, s3  # noqa: E402, F401
