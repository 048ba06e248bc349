"""A real Celery worker killed while storing an import: the sweeper runs it again, exactly.

The worker stops midway through its store transaction (a fault-injection pause) and is
killed with SIGKILL there: nothing is stored, the run stays "running, storing" and its lease
runs out. The sweeper queues it again and a fresh worker stores every item once; a run whose
worker keeps dying is failed with the reason.
"""

import json
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from labeling.data.services.import_lifecycle import imports_sweep
from labeling.data.services.imports import import_stage_manifest
from labeling.models import ImportRun, Item
from tests.killed_workers import broker_ready_and_empty, start_worker, stop_worker, wait_for

LEASE_SECONDS = 2
LINES = 250


@pytest.fixture
def broker():
    broker_ready_and_empty()
    celery_app.conf.task_always_eager = False


def _start_worker(log: Path, **env: str) -> subprocess.Popen:
    return start_worker(log, QUORUM_IMPORT_LEASE_SECONDS=str(LEASE_SECONDS), **env)


def _kill_while_storing(run: ImportRun, log: Path, *, check_alive: bool = False) -> None:
    """Start a worker that pauses midway through storing ``run``, and SIGKILL it there."""
    worker = _start_worker(log, QUORUM_IMPORT_FAULT_PAUSE_SECONDS="60")
    try:
        wait_for(lambda: "import fault pause" in log.read_text(), worker, log, "the store to pause")
        if check_alive and connection.vendor == "postgresql":
            # Alive, the worker keeps its lease (renewed from outside its store transaction),
            # and the sweeper leaves it alone. (On SQLite the store holds the one write lock:
            # the sweeper would wait for it.)
            time.sleep(LEASE_SECONDS + 1)
            assert ImportRun.objects.get(pk=run.pk).lease_expires_at > timezone.now()
            assert imports_sweep() == {"rerun": 0, "failed": 0, "resent": 0}
        worker.kill()
        worker.wait(timeout=15)
    finally:
        stop_worker(worker)
    run.refresh_from_db()
    assert (run.status, run.phase) == ("running", "storing")
    assert not Item.objects.filter(job_id=run.job_id).exists()  # rolled back with the worker
    time.sleep(LEASE_SECONDS + 0.5)  # nothing renews the lease now


def _stage(job, manager) -> ImportRun:
    body = "".join(json.dumps({"source": f"line {i}"}) + "\n" for i in range(LINES)).encode()
    return import_stage_manifest(job=job, created_by=manager, chunks=[body])


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_was_killed_while_storing_is_run_again_to_completion(
    make_job, manager, broker, tmp_path
):
    job = make_job(items=0, start=False)
    run = _stage(job, manager)
    _kill_while_storing(run, tmp_path / "killed.log", check_alive=True)
    assert imports_sweep()["rerun"] == 1

    log = tmp_path / "second.log"
    second = _start_worker(log)
    try:
        wait_for(
            lambda: ImportRun.objects.get(pk=run.pk).status == "succeeded",
            second,
            log,
            "the second worker to store the import",
        )
    finally:
        stop_worker(second)
    run.refresh_from_db()
    assert run.attempts == 2 and run.items_created == LINES
    assert Item.objects.filter(job=job).count() == LINES
    assert sorted(Item.objects.filter(job=job).values_list("data", flat=True)) == sorted(
        json.dumps({"source": f"line {i}"}) for i in range(LINES)
    )
    job.refresh_from_db()
    assert job.items_total == LINES


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_keeps_dying_is_failed_with_the_reason(
    make_job, manager, broker, tmp_path, settings
):
    settings.QUORUM_IMPORT_MAX_ATTEMPTS = 2
    job = make_job(items=0, start=False)
    run = _stage(job, manager)
    _kill_while_storing(run, tmp_path / "first.log")
    assert imports_sweep()["rerun"] == 1
    _kill_while_storing(run, tmp_path / "second.log")
    assert imports_sweep()["failed"] == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.attempts == 2
    assert run.message.startswith("the worker was lost 2 time(s), the last while storing")
    assert not Item.objects.filter(job=job).exists()
