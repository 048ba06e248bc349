"""A real Celery worker killed mid-training leaves the job consistent; the next round recovers.

The worker holds the job's training lease with a short expiry (renewed while it trains); it is
killed with SIGKILL while it trains, so it neither finishes nor releases anything. Once the
lease has run out, the next check fails the dead round and a fresh worker runs a new one.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from active_learning.models import AutoLabeling, TrainingRound
from active_learning.services.rounds import round_request
from active_learning.services.settings import auto_labeling_enable
from active_learning.states import RoundStatus, RoundTrigger
from active_learning.tasks import enqueue_round, job_check
from config.celery import app as celery_app
from labeling.models import ConsolidatedLabel, Item
from labeling.selectors import job_progress
from labeling.states import ItemStatus
from tests.active_learning.conftest import humans_label
from tests.labeling.test_celery_worker import ROOT, _database_url

WAIT_SECONDS = 90
LEASE_SECONDS = 3


@pytest.fixture
def broker():
    """The broker the workers will use: answering (or the test skips), and empty."""
    if settings.REDIS_URL:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # noqa: BLE001 - any failure means no broker to test against
            if os.environ.get("QUORUM_REQUIRE_SERVICES"):
                pytest.fail(f"QUORUM_REQUIRE_SERVICES is set but Redis does not answer: {exc}")
            pytest.skip(f"REDIS_URL is set but Redis does not answer: {exc}")
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


def _start_worker(log: Path, **env: str) -> subprocess.Popen:
    full_env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QUORUM_TESTING": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ACTIVE_LEARNING_LEASE_SECONDS": str(LEASE_SECONDS),
        **env,
    }
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
            "--without-mingle", "--without-gossip", "--loglevel", "info"]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=ROOT, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _wait_for(condition, worker: subprocess.Popen, log: Path, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert worker.poll() is None, (
            f"the worker exited with {worker.returncode}: {log.read_text()[-6000:]}"
        )
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}: {log.read_text()[-3000:]}")


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_training_leaves_the_job_consistent_and_the_next_round_recovers(
    text_job,
    manager,
    labeler,
    broker,
    tmp_path,
):
    celery_app.conf.task_always_eager = False
    job = text_job(400)
    auto_labeling_enable(
        job=job, by=manager, seed=3, validation_size=90, round_every=1000, min_training_labels=20
    )
    humans_label(job, labeler, 180)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _start_worker(first_log, ACTIVE_LEARNING_FAULT_PAUSE_SECONDS="60")
    try:
        doomed = round_request(job_id=job.pk, trigger=RoundTrigger.MANUAL, enqueue=enqueue_round)
        _wait_for(
            lambda: TrainingRound.objects.get(pk=doomed.pk).status == RoundStatus.TRAINING,
            first,
            first_log,
            "the first worker to start training",
        )
        time.sleep(LEASE_SECONDS + 1)  # it keeps renewing the lease while it works
        config = AutoLabeling.objects.get(job=job)
        assert config.lease_token and config.lease_expires_at > timezone.now()
        first.kill()
        first.wait(timeout=15)
    finally:
        _stop(first)

    # Consistent after the kill: nothing half-written, the counters match the rows.
    job.refresh_from_db()
    assert ConsolidatedLabel.objects.filter(job=job, human_annotated=False).count() == 0
    assert (
        job_progress(job_id=job.pk).items_labeled
        == ConsolidatedLabel.objects.filter(job=job).count()
        == 180
    )
    assert Item.objects.filter(job=job, status=ItemStatus.LABELED).count() == 180
    assert TrainingRound.objects.get(pk=doomed.pk).status == RoundStatus.TRAINING
    # While the dead worker's lease lasts, nobody else trains this job.
    time.sleep(LEASE_SECONDS + 0.5)

    second = _start_worker(second_log)
    try:
        job_check(job.pk, RoundTrigger.MANUAL)
        finished = _wait_for(
            lambda: TrainingRound.objects.filter(job=job, status=RoundStatus.DONE).first(),
            second,
            second_log,
            "a round to finish on the second worker",
        )
    finally:
        _stop(second)
    dead = TrainingRound.objects.get(pk=doomed.pk)
    if finished.pk != dead.pk:  # the usual path: the dead round failed, a new one ran
        assert dead.status == RoundStatus.FAILED
        assert "lease ran out" in dead.message
        assert finished.number == 2
    job.refresh_from_db()
    machine = ConsolidatedLabel.objects.filter(job=job, human_annotated=False).count()
    assert machine == finished.auto_labeled > 0
    assert (
        job_progress(job_id=job.pk).items_labeled
        == ConsolidatedLabel.objects.filter(job=job).count()
        == 180 + machine
    )
    assert not AutoLabeling.objects.get(job=job).lease_token  # released
