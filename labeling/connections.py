"""The health check of a kept PostgreSQL connection, made without a round trip (issue 20).

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first query of every request
that reuses a kept connection: one more round trip per request, two per answer of the
labeling loop (bench/README.md, "Issue 20": its share). This check asks the socket instead.
When PostgreSQL ends a connection (a restart, a terminated backend, an idle timeout) it sends
the client an error and closes its end, so the idle connection's socket becomes readable;
between requests nothing else arrives on it (Quorum does not LISTEN), so a readable socket,
or a connection psycopg already knows is broken, is closed and the request opens a fresh
one. A stray message would only cost a reconnect.

What no check before the query can see (the same for ``SELECT 1`` a moment earlier): a
server that goes away during the request, or vanishes without closing its end (a power
loss): the request's query fails, and Django drops the connection after that request.
"""

import select
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

_GONE = select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL


def _still_open(wrapper: BaseDatabaseWrapper) -> bool:
    """Whether an idle psycopg connection is still open, from its state and its socket."""
    pgconn = wrapper.connection.pgconn
    if pgconn.status != 0 or pgconn.transaction_status != 0:  # not CONNECTION_OK, not IDLE
        return False
    try:
        fd = pgconn.socket
    except Exception:  # noqa: BLE001 - psycopg raises when the connection has no socket
        return False
    poller = select.poll()
    poller.register(fd, _GONE)
    return not poller.poll(0)


def kept_connections_check(**_kwargs: Any) -> None:
    """``request_started`` receiver, connected after Django's ``close_old_connections``
    (which marks kept connections as due for a health check): checks the due PostgreSQL
    ones locally, closes those that are gone, and marks the check done."""
    for wrapper in connections.all(initialized_only=True):
        if (
            wrapper.vendor != "postgresql"
            or wrapper.connection is None
            or not wrapper.health_check_enabled
            or wrapper.health_check_done
            or wrapper.in_atomic_block
        ):
            continue
        if not _still_open(wrapper):
            wrapper.close()
        wrapper.health_check_done = True
