"""Webhooks survive a Celery worker killed mid-send: nothing is lost, and no delivery id is
sent again without a recorded retry reason.

A real worker (with beat, as ``manage.py serve`` runs it) takes deliveries from the real
broker (Redis when REDIS_URL is set, else the filesystem broker). The test kills it with
SIGKILL while the receiver holds one request open, starts a new worker, and waits until
every delivery has succeeded.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings

from config.celery import app as celery_app
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from tests.labeling.test_celery_worker import ROOT, _database_url
from workflows.models import HumanLoop, WebhookAttempt, WebhookDelivery
from workflows.services.loops import human_loop_start, human_loop_stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
LOOPS = 12
STOPPED = 3
HOLD_ON_HIT = 4  # the receiver holds this request open; the worker dies meanwhile
WAIT_SECONDS = 90


def _check_broker() -> None:
    if not settings.REDIS_URL:
        return
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001 - any failure means no broker to test against
        if os.environ.get("QUORUM_REQUIRE_SERVICES"):
            pytest.fail(f"QUORUM_REQUIRE_SERVICES is set but Redis does not answer: {exc}")
        pytest.skip(f"REDIS_URL is set but Redis does not answer: {exc}")


def _start_worker(tmp_path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QUORUM_TESTING": "1",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "LOOP_SWEEP_SECONDS": "1",
        "LEASE_SWEEP_SECONDS": "60",
        "QUORUM_WEBHOOK_SEND_TIMEOUT_SECONDS": "2",
        "QUORUM_WEBHOOK_REDELIVERY_GRACE_SECONDS": "2",
        "QUORUM_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        "QUORUM_OUTBOUND_ALLOW": "127.0.0.0/8",  # the receiver is on this machine
    }
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--schedule",
            str(tmp_path / f"{name}-beat"),
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
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def test_a_killed_worker_loses_no_webhook_and_repeats_none_silently(
    make_flow, labeler, webhook_receiver, tmp_path
):
    _check_broker()
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    held = threading.Event()
    release = threading.Event()
    original = webhook_receiver.on_hit

    def hold_one(hit_number: int) -> None:
        original(hit_number)
        if hit_number == HOLD_ON_HIT:
            held.set()
            release.wait(20)

    webhook_receiver.on_hit = hold_one
    flow = make_flow(webhook_url=webhook_receiver.url)
    loops = [
        human_loop_start(flow=flow, name=f"k-{i}", input_content=f'{{"source": "t{i}"}}')
        for i in range(LOOPS)
    ]
    for loop in loops[:STOPPED]:
        human_loop_stop(loop=loop)  # the worker finishes the stop and sends its webhook
    for _ in range(LOOPS - STOPPED):
        assignment = assignment_claim(job=flow.job, worker=labeler)
        annotation_submit(
            assignment_id=assignment.pk, worker=labeler, answer={"category": {"label": "cat"}}
        )
    assert WebhookDelivery.objects.filter(flow=flow).count() == LOOPS - STOPPED

    first = _start_worker(tmp_path, "worker-1")
    second = None
    try:
        assert held.wait(WAIT_SECONDS), (tmp_path / "worker-1.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)  # mid-send: the request has reached the receiver
        first.wait()
        release.set()
        second = _start_worker(tmp_path, "worker-2")
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            finished = HumanLoop.objects.filter(flow=flow, status__in=["Completed", "Stopped"])
            pending = WebhookDelivery.objects.filter(flow=flow).exclude(status="succeeded")
            if (
                finished.count() == LOOPS
                and not pending.exists()
                and (WebhookDelivery.objects.filter(flow=flow).count() == LOOPS)
            ):
                break
            assert second.poll() is None, (tmp_path / "worker-2.log").read_text()[-3000:]
            time.sleep(0.3)
    finally:
        release.set()
        _stop(first)
        if second is not None:
            _stop(second)

    log = (tmp_path / "worker-2.log").read_text()[-3000:]
    assert HumanLoop.objects.filter(flow=flow, status="Completed").count() == LOOPS - STOPPED, log
    assert HumanLoop.objects.filter(flow=flow, status="Stopped").count() == STOPPED, log
    deliveries = {str(d.delivery_id): d for d in WebhookDelivery.objects.filter(flow=flow)}
    assert len(deliveries) == LOOPS and all(d.status == "succeeded" for d in deliveries.values())

    received: dict[str, list[int]] = {}
    for hit in webhook_receiver.verified(flow.webhook_secret):
        received.setdefault(hit["delivery"], []).append(hit["attempt"])
    assert len(webhook_receiver.received) == sum(map(len, received.values()))  # all signed
    assert set(received) == set(deliveries)  # nothing lost
    repeated = 0
    for delivery_id, attempt_numbers in received.items():
        attempts = {
            a.number: a for a in WebhookAttempt.objects.filter(delivery__delivery_id=delivery_id)
        }
        # Each send is a recorded attempt of its own; none is sent twice under one number.
        assert len(attempt_numbers) == len(set(attempt_numbers))
        assert set(attempt_numbers) <= set(attempts)
        for number in attempt_numbers:
            if number > 1:
                repeated += 1
                assert attempts[number].retry_reason, (delivery_id, number)
    # The held request reached the receiver but its outcome died with the worker: it was
    # sent again, and the reason says so.
    assert repeated >= 1
    assert WebhookAttempt.objects.filter(
        delivery__flow=flow, retry_reason__contains="recorded no outcome"
    ).exists()
