"""The Celery worker keeps its database connection between tasks (config/celery.py), closing it
the way the web's request cycle does: when it is older than CONN_MAX_AGE or unusable. Eager
tasks (run inside a caller's request and transaction) never touch it.

The worker's side of a PostgreSQL restart is tests/labeling/test_database_restart.py.
"""

import time

import pytest
from django.db import connection, transaction

from config.celery import _close_old_connections
from labeling.tasks import item_text_fill_task


def _after_task(*, eager: bool) -> None:
    """What the worker's signals do around one task."""
    item_text_fill_task.push_request(is_eager=eager)
    try:
        _close_old_connections(sender=item_text_fill_task)
    finally:
        item_text_fill_task.pop_request()


def _connected() -> object:
    connection.ensure_connection()
    return connection.connection


@pytest.mark.django_db(transaction=True)
def test_a_worker_task_keeps_a_connection_that_is_young_enough():
    kept = _connected()
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE = 60, as in production

    _after_task(eager=False)

    assert connection.connection is kept
    assert connection.cursor().execute("SELECT 1") is not None


@pytest.mark.django_db(transaction=True)
def test_a_worker_task_closes_a_connection_past_its_age():
    _connected()
    connection.close_at = time.monotonic() - 1

    _after_task(eager=False)

    assert connection.connection is None
    with connection.cursor() as cursor:  # the next task connects again
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_the_callers_transaction_alone():
    with transaction.atomic():
        inside = _connected()
        connection.close_at = time.monotonic() - 1  # would be closed by a worker's task

        _after_task(eager=True)

        assert connection.connection is inside
        assert connection.in_atomic_block
