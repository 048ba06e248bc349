"""A real Celery worker killed mid-training leaves the job consistent; the next round recovers.

The worker holds the job's training lease with a short expiry (renewed while it trains); it is
killed with SIGKILL while it trains, so it neither finishes nor releases anything. Once the
lease has run out, the next check fails the dead round and a fresh worker runs a new one.
"""

import subprocess
import time
from pathlib import Path

import pytest
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
from tests.killed_workers import broker_ready_and_empty, start_worker, stop_worker, wait_for

LEASE_SECONDS = 3


@pytest.fixture
def broker():
    broker_ready_and_empty()


def _start_worker(log: Path, **env: str) -> subprocess.Popen:
    return start_worker(log, ACTIVE_LEARNING_LEASE_SECONDS=str(LEASE_SECONDS), **env)


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
        wait_for(
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
        stop_worker(first)

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
        finished = wait_for(
            lambda: TrainingRound.objects.filter(job=job, status=RoundStatus.DONE).first(),
            second,
            second_log,
            "a round to finish on the second worker",
        )
    finally:
        stop_worker(second)
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
