"""A real Celery worker killed while storing an import: the sweeper runs it again, exactly.

The worker stops midway through its store transaction (a fault-injection pause) and is
killed with SIGKILL there: nothing is stored, the run stays "running, storing" and its lease
runs out. The sweeper queues it again and a fresh worker stores every item once; a run whose
worker keeps dying is failed with the reason.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from labeling.data.services.imports import import_stage_manifest, imports_sweep
from labeling.models import ImportRun, Item
from tests.labeling.test_celery_worker import ROOT, _database_url

WAIT_SECONDS = 90
LEASE_SECONDS = 2
LINES = 250


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
    celery_app.conf.task_always_eager = False


def _start_worker(log: Path, **env: str) -> subprocess.Popen:
    full_env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QUORUM_TESTING": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "QUORUM_IMPORT_LEASE_SECONDS": str(LEASE_SECONDS),
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


def _kill_while_storing(run: ImportRun, log: Path, *, check_alive: bool = False) -> None:
    """Start a worker that pauses midway through storing ``run``, and SIGKILL it there."""
    worker = _start_worker(log, QUORUM_IMPORT_FAULT_PAUSE_SECONDS="60")
    try:
        _wait_for(
            lambda: "import fault pause" in log.read_text(), worker, log, "the store to pause"
        )
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
        _stop(worker)
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
        _wait_for(
            lambda: ImportRun.objects.get(pk=run.pk).status == "succeeded",
            second,
            log,
            "the second worker to store the import",
        )
    finally:
        _stop(second)
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
