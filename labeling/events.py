"""Domain events of the labeling app, sent after the transaction that caused them commits.

Other apps subscribe in their ``AppConfig.ready()``; labeling never imports them. The write
is already stored when an event is sent, so a receiver that fails (its broker or cache is
down) is logged and skipped, the other receivers still run, and the periodic sweeps redo what
it missed: a failed receiver never turns the write into an error.
"""

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

item_consolidated = Signal()  # job_id, item_id, label, confidence
job_completed = Signal()  # job_id
job_started = Signal()  # job_id
import_finished = Signal()  # job_id, import_id, status
# Issue 16 (pipelines' hooks). ``items_stored`` is sent *inside* the transaction that stores an
# import's items (a receiver may hold them back from the claim queue in that same transaction;
# its failure fails the import). ``item_answers_complete`` is sent after commit when an item has
# all its answers but its consolidation was taken over (labeling/services/consolidation.py).
items_stored = Signal()  # job_id, import_id
item_answers_complete = Signal()  # job_id, item_id
# Issue 16 (p16-chain): a reviewer changed an item's consolidated label (review_fix).
label_revised = Signal()  # job_id, item_id, label, confidence


def publish(signal: Signal, **payload: Any) -> None:
    """Send now to every receiver; a receiver's failure is logged, never raised."""
    for receiver, result in signal.send_robust(sender=None, **payload):
        if isinstance(result, Exception):
            logger.warning(
                "receiver %s of an event (%s) failed; the periodic sweep redoes its work",
                getattr(receiver, "__qualname__", receiver),
                payload,
            )  # Django's dispatcher has logged the traceback


def publish_on_commit(signal: Signal, **payload: Any) -> None:
    transaction.on_commit(lambda: publish(signal, **payload))
