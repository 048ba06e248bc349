"""The health check of kept PostgreSQL connections without a round trip (issue 20,
labeling/connections.py): a live idle connection is kept and sends nothing, a connection the
server ended is closed before the request uses it, and the next query opens a fresh one.
(The whole restart through the web server: tests/labeling/test_database_restart.py.)"""

import time

import psycopg
import pytest
from django.db import connection

from labeling.connections import kept_connections_check
from labeling.models import Job
from tests.conftest import using_postgres

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not using_postgres(), reason="PostgreSQL's connections only"),
]


def _backend_pid() -> int:
    return connection.connection.info.backend_pid


def _due_for_check() -> None:
    """What Django's close_old_connections does at the start of every request."""
    connection.close_if_unusable_or_obsolete()
    assert connection.health_check_done is False


def _last_query_of(pid: int) -> str | None:
    """The last statement the backend ``pid`` ran (pg_stat_activity)."""
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        row = other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row[0] if row else None


@pytest.mark.django_db(transaction=True)
def test_a_live_connection_is_kept_and_checked_without_a_query():
    Job.objects.count()
    raw, pid = connection.connection, _backend_pid()
    last_query = _last_query_of(pid)
    _due_for_check()
    kept_connections_check()
    assert connection.health_check_done is True
    assert connection.connection is raw  # kept, not reopened
    assert _last_query_of(pid) == last_query  # no SELECT 1 was sent
    Job.objects.count()
    assert connection.connection is raw


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_closed_before_use():
    Job.objects.count()
    raw, pid = connection.connection, _backend_pid()
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server's error and close reach the socket
        _due_for_check()
        kept_connections_check()
        if connection.connection is None:
            break
        time.sleep(0.05)
    assert connection.connection is None  # closed before any query could fail on it
    assert Job.objects.count() >= 0  # the next query connects afresh
    assert connection.connection is not raw
    assert _backend_pid() != pid
