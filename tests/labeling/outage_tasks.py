"""A task for the outage tests only: the worker imports it with ``--include``, so a message is
delivered and not yet acknowledged (acks_late) at the moment the broker goes away."""

import time

from celery import shared_task

SLOW_TASK = "tests.outage.slow"


@shared_task(name=SLOW_TASK, acks_late=True, time_limit=120)
def slow_task(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
