"""Fixtures of the pipelines tests: a streaming job, the webhook receiver of the review-loop
tests, and a threaded hook receiver that answers as told (local HTTP servers on loopback, with
loopback allowed for outbound requests)."""

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from labeling.pipelines.services.streaming import stream_configure
from labeling.services.jobs import job_create, job_start
from tests.workflows.conftest import (  # noqa: F401 - fixtures shared with the webhook tests
    Receiver,
    webhook_receiver,
)

SECRET = "stream-secret-1"


@pytest.fixture
def make_stream_job(db, manager, team):
    def make(*, start: bool = True, workers_per_item: int = 1, **settings):
        job = job_create(
            created_by=manager,
            name=f"stream-{make.counter}",
            task_type="text-classification",
            labels=["cat", "dog", "bird"],
            team=team,
            workers_per_item=workers_per_item,
        )
        make.counter += 1
        stream_configure(job=job, by=manager, **settings)
        job.refresh_from_db()
        if start:
            job_start(job=job, by=manager)
        return job

    make.counter = 1
    return make


# (status, body) a receiver answers for one request's parsed JSON body.
Answer = Callable[[dict[str, Any]], tuple[int, Any]]


@dataclass
class HookReceiver:
    url: str = ""
    answer: Answer = lambda event: (200, {})  # noqa: E731
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [hit["body"] for hit in self.received]

    def verified(self, secret: str) -> bool:
        """Every request carried the right X-Quorum-Signature for ``secret``."""
        with self.lock:
            hits = list(self.received)
        return bool(hits) and all(
            hmac.compare_digest(
                "sha256=" + hmac.new(secret.encode(), hit["raw"], hashlib.sha256).hexdigest(),
                hit["signature"],
            )
            for hit in hits
        )


@pytest.fixture
def outbound_loopback_allowed(settings):
    """Webhooks and hooks may call this machine (refused by default); hooks' retries wait a
    moment only."""
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.0/8", "::1/128"]
    settings.QUORUM_HOOK_BACKOFF_SECONDS = 0.01


@pytest.fixture
def hook_receiver(outbound_loopback_allowed) -> Iterator[HookReceiver]:
    receiver = HookReceiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - the stdlib's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw)
            with receiver.lock:
                receiver.received.append(
                    {
                        "raw": raw,
                        "body": body,
                        "signature": self.headers.get("X-Quorum-Signature", ""),
                        "kind": self.headers.get("X-Quorum-Hook", ""),
                    }
                )
            if receiver.delay:
                time.sleep(receiver.delay)
            status, answer = receiver.answer(body)
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the caller gave up (a timeout test)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield receiver
    server.shutdown()
    server.server_close()


def echo_callable(event: dict[str, Any]) -> dict[str, Any]:
    """A pre-annotation hook by dotted path (tests.labeling.pipelines.conftest.echo_callable)."""
    return {"taskInput": {"echo": event["dataObject"]}, "isHumanAnnotationRequired": "true"}
