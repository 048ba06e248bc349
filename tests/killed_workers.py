"""Helpers for tests that run a real Celery worker subprocess and kill it mid-task."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app as celery_app
from tests.labeling.test_celery_worker import ROOT, _database_url

WAIT_SECONDS = 90


def broker_ready_and_empty() -> None:
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


def start_worker(log: Path, **env: str) -> subprocess.Popen:
    """A solo-pool worker on this test's database and broker, its output in ``log``."""
    full_env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QUORUM_TESTING": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **env,
    }
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
            "--without-mingle", "--without-gossip", "--loglevel", "info"]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=ROOT, env=full_env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def wait_for(condition, worker: subprocess.Popen, log: Path, what: str):
    """Poll ``condition`` until it is truthy; fail if the worker exits or time runs out."""
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


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
