"""A real Celery worker process takes an import from the real broker and stores it.

Embedded default: the filesystem broker under var/. With REDIS_URL set: Redis. The worker
runs as a subprocess against the test database, exactly as ``manage.py serve`` starts it.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery import app as celery_app
from labeling.data.services.imports import import_stage_manifest
from labeling.models import ImportRun, Item, JobQualityEstimate
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def real_worker(tmp_path):
    if settings.REDIS_URL:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # noqa: BLE001 - any failure means no broker to test against
            if os.environ.get("QUORUM_REQUIRE_SERVICES"):
                pytest.fail(f"QUORUM_REQUIRE_SERVICES is set but Redis does not answer: {exc}")
            pytest.skip(f"REDIS_URL is set but Redis does not answer: {exc}")
    with celery_app.connection_for_write() as conn:
        # Messages left by an earlier run name imports of a database that is gone.
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QUORUM_TESTING": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
    log.close()


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_an_import_from_the_broker(make_job, manager, real_worker, tmp_path):
    celery_app.conf.task_always_eager = False
    job = make_job(items=0, start=False)
    body = "".join(json.dumps({"source": f"line {i}"}) + "\n" for i in range(250)).encode()
    run = import_stage_manifest(job=job, created_by=manager, chunks=[body])
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("succeeded", "failed"):
            break
        assert real_worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        time.sleep(0.2)
    assert run.status == "succeeded", (
        run.status,
        run.message,
        (tmp_path / "worker.log").read_text()[-3000:],
    )
    assert Item.objects.filter(job=job).count() == 250
    assert ImportRun.objects.get(pk=run.pk).finished_at is not None
    assert celery_app.conf.broker_url.startswith("redis" if settings.REDIS_URL else "filesystem")


@pytest.mark.django_db(transaction=True)
def test_many_answers_make_one_reestimation_by_the_real_worker(
    make_job, make_labeler, real_worker, tmp_path
):
    """Answers that finish items ask for a re-estimation; the debounce makes it one run."""
    celery_app.conf.task_always_eager = False
    job = make_job(items=6, workers_per_item=1)
    cache.delete(f"quality:reestimate:{job.pk}")  # a key left by an earlier run of the suite
    worker = make_labeler("busy")
    for _ in range(6):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "dog"})
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and not JobQualityEstimate.objects.filter(job=job).exists():
        assert real_worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        time.sleep(0.2)
    estimate = JobQualityEstimate.objects.filter(job=job).first()
    log = (tmp_path / "worker.log").read_text()
    assert estimate is not None, log[-3000:]
    assert estimate.answers_used == 6
    time.sleep(1)  # any second run would be queued by now
    runs = (tmp_path / "worker.log").read_text().count("labeling.quality_reestimate[")
    assert runs == 2, log[-3000:]  # "received" and "succeeded" lines of a single task
