"""Work that follows a commit and must never fail the write: run it, and on failure log it
and leave it to the periodic sweep that redoes it (house style 18).

A broker or cache outage (Redis restarting, PostgreSQL restarting under the callback) makes
an enqueue or a cache call raise after the answer is already stored; raised from a
``transaction.on_commit`` callback it would turn a stored write into a 500.
"""

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)


def run_safely(work: Callable[[], object], *, what: str) -> bool:
    """Run ``work`` now; a failure is logged (a sweep redoes it), never raised. True if it ran."""
    try:
        work()
    except Exception:  # noqa: BLE001 - any failure here is the sweep's to redo, never the write's
        logger.warning(
            "%s failed after the commit; the periodic sweep redoes it", what, exc_info=True
        )
        return False
    return True


def on_commit_safely(work: Callable[[], object], *, what: str) -> None:
    """Run ``work`` once the current transaction commits (at once outside one), safely."""
    transaction.on_commit(lambda: run_safely(work, what=what))
