"""Domain events of the labeling app, sent after the transaction that caused them commits.

Other apps subscribe in their ``AppConfig.ready()``; labeling never imports them.
"""

from typing import Any

from django.db import transaction
from django.dispatch import Signal

item_consolidated = Signal()  # job_id, item_id, label, confidence
job_completed = Signal()  # job_id
job_started = Signal()  # job_id
import_finished = Signal()  # job_id, import_id, status


def publish_on_commit(signal: Signal, **payload: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=None, **payload))
