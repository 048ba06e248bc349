"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in each app."""

import logging
import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready
from celery.worker.consumer import Consumer as CeleryConsumer
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _touch_ready_file(**_kwargs) -> None:
    """Tell whoever started this worker that it is ready (``manage.py run_demo`` waits for it
    so that the demo sign-ins are the terminal's last lines)."""
    ready_file = os.environ.get("QUORUM_WORKER_READY_FILE")
    if ready_file:
        Path(ready_file).touch()


class Consumer(CeleryConsumer):
    """The worker's consumer (``CELERY_WORKER_CONSUMER``), surviving a broker restart under load.

    On a lost connection celery 5.7.0 collects the broken connection and then closes it. With
    the Redis transport, when the loss finds the channel waiting in BRPOP with a message
    delivered and not yet acknowledged (an acks_late task running, a pool process free: any
    worker under load), the collect's close fails on the BRPOP read before the channel counts
    as closed, the collect detaches the transport, and the second close then puts the message
    back through the detached transport: ``AttributeError: 'NoneType' object has no attribute
    'hostname'`` in kombu's ``_connparams``. Not a connection error, so the worker stopped
    with "Unrecoverable error" and never reconnected (tests/labeling/test_broker_outage.py
    reproduces it every time). The connection is already dropped when that happens, so the
    worker carries on reconnecting as for any connection error; the message stays in Redis's
    unacked set and returns after the visibility timeout, or is gone with a Redis that
    restarted empty, which the sweeps cover.
    """

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            logger.warning(
                "the lost broker connection did not close cleanly (%r); reconnecting",
                exc,
                exc_info=True,
            )


# Issue 20 (p20-fresh): Celery's Django fixup closes every database connection before and after
# each task unless CELERY_DB_REUSE_MAX is set, so each beat sweep (a dozen kinds, every 5 s to 5
# minutes) and each re-estimation opened a PostgreSQL session of its own: a fork and a backend's
# start with cold catalog caches, about 4 ms of PostgreSQL CPU per task against 0.3 ms for the
# same statements on a kept session, 30 to 40 sessions in every 30 s of load. The worker keeps
# its connection the way the web's request cycle does instead: Django's own check before and
# after each task closes it when it is older than CONN_MAX_AGE or unusable (CONN_HEALTH_CHECKS
# checks a kept one before its first use). Eager tasks run inside the caller's request and
# transaction: those are left alone, as the fixup leaves them.
@task_prerun.connect
@task_postrun.connect
def _close_old_connections(sender=None, **_kwargs) -> None:
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()
