"""GET /healthz: is the database answering, and can the broker be reached?"""

import logging
import time

from celery import current_app
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)
BROKER_TIMEOUT_SECONDS = 2


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    return "ok"


def healthz(request) -> JsonResponse:
    checks = {}
    healthy = True
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        started = time.monotonic()
        try:
            state = check()
        except Exception as exc:  # a health check reports every failure, whatever its kind
            logger.warning("health check %s failed: %s", name, exc)
            state = f"error: {exc.__class__.__name__}: {exc}"[:200]
            healthy = False
        checks[name] = {"status": state, "ms": round((time.monotonic() - started) * 1000, 1)}
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)
