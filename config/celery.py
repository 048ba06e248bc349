"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in each app."""

import logging
import os

from celery import Celery
from celery.worker.consumer import Consumer as CeleryConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class Consumer(CeleryConsumer):
    """The worker's consumer (``CELERY_WORKER_CONSUMER``), surviving a broker restart under load.

    On a lost connection celery 5.7.0 first collects the broken connection, which detaches its
    transport, then closes it. With the Redis transport and messages delivered but not yet
    acknowledged (acks_late tasks running: any worker under load) the close tries to put them
    back through the detached transport and raises ``AttributeError: 'NoneType' object has no
    attribute 'hostname'`` (kombu's ``_connparams``). That is not a connection error, so the
    worker stopped with "Unrecoverable error" and never reconnected. The connection is already
    dropped at that point; the worker goes on to reconnect as for any connection error. The
    messages stay in Redis's unacked set and return after the visibility timeout (tasks are
    idempotent), or are gone with a Redis that restarted empty, which the sweeps cover.
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
