"""Leases of import runs: a worker holds its run's lease, renewed by a heartbeat thread.

A run is RUNNING only under a lease (a token and an expiry on its row). The worker renews it
every third of its length from a thread with a connection of its own, so the renewal commits
even while the run's store transaction is open. A worker that dies stops renewing; once the
lease has run out, the sweeper (``imports_sweep``) runs the import again or fails it. Every
write that ends a run names the token, so a worker that lost its lease writes nothing.
"""

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import F, QuerySet
from django.utils import timezone

from labeling.models import ImportRun
from labeling.states import ImportStatus

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The run's lease ran out and was taken over (or the run ended): this worker stops."""


def lease_seconds() -> float:
    return float(settings.QUORUM_IMPORT_LEASE_SECONDS)


def import_lease_claim(*, import_id: int) -> "ImportLease | None":
    """Move a queued run to running under a fresh lease; None when it is not queued."""
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = ImportRun.objects.filter(pk=import_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING,
        started_at=now,
        attempts=F("attempts") + 1,
        lease_token=token,
        lease_expires_at=now + timedelta(seconds=lease_seconds()),
        phase="checking",
    )
    return ImportLease(import_id, token) if claimed else None


class ImportLease:
    """One worker's hold on one run: renew it, name it in the run's final write."""

    def __init__(self, import_id: int, token: str) -> None:
        self.import_id = import_id
        self.token = token
        self.lost = False

    def held(self) -> QuerySet[ImportRun]:
        """The run, if this lease still holds it: the guard of every write that ends it."""
        return ImportRun.objects.filter(
            pk=self.import_id, status=ImportStatus.RUNNING, lease_token=self.token
        )

    def renew(self, **fields: object) -> bool:
        expires = timezone.now() + timedelta(seconds=lease_seconds())
        renewed = self.held().update(lease_expires_at=expires, **fields) == 1
        if not renewed:
            self.lost = True
        return renewed

    def enter_phase(self, phase: str) -> None:
        if not self.renew(phase=phase):
            raise LeaseLost(f"import {self.import_id} lost its lease before {phase}")

    def check(self) -> None:
        """Called as the work goes: stop early once the heartbeat found the lease gone."""
        if self.lost:
            raise LeaseLost(f"import {self.import_id} lost its lease")

    @contextmanager
    def heartbeat(self) -> Iterator["ImportLease"]:
        """Renew the lease from a thread while the block runs."""
        stop = threading.Event()
        interval = max(lease_seconds() / 3, 0.2)

        def beat() -> None:
            try:
                while not stop.wait(interval):
                    try:
                        if not self.renew():
                            if not stop.is_set():  # else the run has just ended
                                logger.warning("import %s lost its lease", self.import_id)
                            return
                    except DatabaseError:
                        # SQLite: this run's own store holds the write lock; try next beat.
                        logger.info("import %s: lease not renewed this time", self.import_id)
            finally:
                connections.close_all()  # this thread's connections only

        thread = threading.Thread(target=beat, name=f"import-{self.import_id}-lease", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()


def pause_for_fault_tests() -> None:
    """Fault injection: stop this long in the middle of storing (0 outside such tests)."""
    pause = float(getattr(settings, "QUORUM_IMPORT_FAULT_PAUSE_SECONDS", 0))
    if pause > 0:
        logger.warning("import fault pause: %.1f s while storing", pause)
        time.sleep(pause)
