"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in each app."""

import logging
import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready
from celery.worker.consumer import Consumer as CeleryConsumer

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
