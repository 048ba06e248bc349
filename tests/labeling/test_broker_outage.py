"""Broker and cache outages are survived (issue 12): a Redis of the test's own is killed and
started again under a real worker, and a submit made while it is down is still a 201.

Each test starts its own ``redis-server`` (never the shared one) on a free loopback port, or
on ``QUORUM_TEST_REDIS_PORT`` when set; it skips when the binary is absent.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from labeling.management.commands.serve import worker_command
from labeling.models import Annotation, ConsolidatedLabel, JobQualityEstimate
from labeling.quality.services.reliability import REESTIMATE_TASK
from tests.conftest import client_for
from tests.labeling.outage_tasks import SLOW_TASK

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
BACK_WITHIN_SECONDS = 30
OUTAGE_SECONDS = 3
BEAT_SENT = "Scheduler: Sending due task"


def _free_port() -> int:
    if os.environ.get("QUORUM_TEST_REDIS_PORT"):
        return int(os.environ["QUORUM_TEST_REDIS_PORT"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A throwaway redis-server on a loopback port: started, killed, started again."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis():
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed: the outage tests start their own Redis")
    redis = OwnRedis(_free_port())
    redis.start()
    yield redis
    redis.kill()


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:]


def test_the_worker_and_beat_survive_a_redis_restart_under_load(make_job, own_redis, tmp_path):
    """Killed with a task in flight (acks_late, so delivered but unacknowledged: any worker
    under load), the Redis comes back empty 3 s later; the worker (run as serve runs it, beat
    inside) reconnects by itself and runs a new task. Before the fix it stopped with "Unrecoverable
    error: AttributeError('NoneType' object has no attribute 'hostname')"."""
    job = make_job(items=2)
    env = {
        **os.environ,
        "REDIS_URL": own_redis.url,
        "DATABASE_URL": _database_url(),
        "QUORUM_TESTING": "1",
        "QUORUM_VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOG_LEVEL": "INFO",
    }
    log_path = tmp_path / "worker.log"
    # Not the current app: services enqueue through ``current_app``, which must stay Quorum's.
    producer = Celery("outage-probe", broker=own_redis.url, set_as_current=False)
    producer.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    command = [
        *worker_command(var_dir=tmp_path, redis_url=own_redis.url),
        "--include",
        "tests.labeling.outage_tasks",
    ]
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its pool in its group: the teardown stops them all
        )
        try:
            deadline = time.monotonic() + 60
            while " ready." not in log_path.read_text() and time.monotonic() < deadline:
                assert worker.poll() is None, _log_tail(log_path)
                time.sleep(0.2)
            # One task running and one process of the pool free: the channel is waiting in
            # BRPOP for the next message while the running one is delivered but unacknowledged.
            # That is the state in which a lost connection used to stop the worker for good.
            producer.send_task(SLOW_TASK, args=(10,))
            deadline = time.monotonic() + 30
            while f"{SLOW_TASK}[" not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            own_redis.kill()
            time.sleep(OUTAGE_SECONDS)
            own_redis.start()
            beat_sent_before = log_path.read_text(errors="replace").count(BEAT_SENT)

            producer.send_task(REESTIMATE_TASK, args=(job.pk,))
            deadline = time.monotonic() + BACK_WITHIN_SECONDS
            while time.monotonic() < deadline:
                assert worker.poll() is None, _log_tail(log_path)
                if JobQualityEstimate.objects.filter(job=job).exists():
                    break
                time.sleep(0.5)
            output = log_path.read_text(errors="replace")
            assert "Unrecoverable error" not in output, _log_tail(log_path)
            assert "Connection to broker lost" in output, _log_tail(log_path)
            assert JobQualityEstimate.objects.filter(job=job).exists(), _log_tail(log_path)
            # Beat, inside the worker, goes on sending the periodic sweeps (leases: every 10 s).
            deadline = time.monotonic() + BACK_WITHIN_SECONDS
            while time.monotonic() < deadline:
                if log_path.read_text(errors="replace").count(BEAT_SENT) > beat_sent_before:
                    break
                time.sleep(0.5)
            assert log_path.read_text(errors="replace").count(BEAT_SENT) > beat_sent_before
            assert worker.poll() is None
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            producer.close()


@pytest.fixture
def broker_and_cache_on(settings):
    """Point this process's cache and Celery broker at a Redis of the test's (not eager)."""
    previous = celery_app.conf.broker_url

    def point(url: str) -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
        settings.CELERY_TASK_ALWAYS_EAGER = False
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = url
        celery_app.close()  # drop pooled connections to the previous broker

    yield point
    celery_app.conf.broker_url = previous
    celery_app.close()


def test_a_submit_while_redis_is_down_is_stored_and_answered_201_and_the_sweep_redoes_its_work(
    make_job, labeler, own_redis, broker_and_cache_on
):
    job = make_job(items=2)
    client = client_for(labeler)
    lease = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
    assert lease.status_code == 200, lease.content

    broker_and_cache_on(own_redis.url)
    own_redis.kill()  # the cache and the broker are down
    submitted = client.post(
        f"/api/v1/assignments/{lease.data['assignment_id']}/submit",
        {"answer": {"label": "dog"}},
        format="json",
    )
    assert submitted.status_code == 201, submitted.content
    assert Annotation.objects.filter(job=job, worker=labeler).count() == 1
    assert ConsolidatedLabel.objects.filter(job=job).count() == 1  # the write is whole
    assert not JobQualityEstimate.objects.filter(job=job).exists()  # its after-commit work lost

    # Redis is back. Whatever beat schedules (run here eagerly, as the worker would, once the
    # answers have settled) redoes the re-estimation the submit asked for in vain.
    own_redis.start()
    celery_app.conf.task_always_eager = True
    settled = timezone.now() - timedelta(minutes=10)
    Annotation.objects.filter(job=job).update(submitted_at=settled)
    ConsolidatedLabel.objects.filter(job=job).update(created_at=settled)
    _run_the_periodic_tasks()
    assert JobQualityEstimate.objects.filter(job=job).exists()


def _run_the_periodic_tasks() -> None:
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        # An eager result; an earlier test in this process may have set celery's "inside a
        # worker" flag, which makes a plain get() refuse.
        celery_app.tasks[entry["task"]].apply().get(disable_sync_subtasks=False)
