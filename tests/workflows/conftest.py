"""Fixtures of the review-loop tests: flows, and a local HTTP server that receives webhooks."""

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from workflows.services.flows import flow_create


@pytest.fixture
def make_flow(db, manager, team):
    def make(**fields):
        values = {
            "name": f"flow-{make.counter}",
            "team": team,
            "task_type": "text-classification",
            "labels": ["cat", "dog", "bird"],
            "short_instructions": "Check the model's label.",
        }
        values.update(fields)
        make.counter += 1
        return flow_create(created_by=manager, **values)

    make.counter = 1
    return make


@dataclass
class Receiver:
    url: str
    status: int = 200
    location: str = ""
    received: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Called with the number of each request as it arrives (before the answer).
    on_hit: Callable[[int], None] = lambda hit_number: None  # noqa: E731

    def verified(self, secret: str) -> list[dict]:
        """The bodies whose signature header is right for ``secret``."""
        good = []
        for hit in self.received:
            expected = "sha256=" + hmac.new(secret.encode(), hit["raw"], hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, hit["signature"]):
                good.append(hit)
        return good


@pytest.fixture
def outbound_loopback_allowed(settings):
    """Webhooks may go to this machine (they are refused there by default)."""
    settings.QUORUM_OUTBOUND_ALLOW = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def webhook_receiver(outbound_loopback_allowed) -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                hit_number = len(receiver.received) + 1
                receiver.received.append(
                    {
                        "raw": raw,
                        "body": json.loads(raw),
                        "signature": self.headers.get("X-Quorum-Signature", ""),
                        "delivery": self.headers.get("X-Quorum-Delivery", ""),
                        "event": self.headers.get("X-Quorum-Event", ""),
                        "attempt": int(self.headers.get("X-Quorum-Attempt", "0")),
                    }
                )
            receiver.on_hit(hit_number)
            self.send_response(receiver.status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):  # noqa: N802 - a followed redirect would arrive as a GET
            with receiver.lock:
                receiver.received.append(
                    {"raw": b"", "body": None, "signature": "", "delivery": "", "event": "GET"}
                )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
