"""The fault suite's labelers: threads asking for the next task and submitting, recording each
submit as the labeler saw it (acknowledged, refused, 5xx, dropped, unreachable)."""

import http.client
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.faults.client import HttpClient, Unreachable, error_code

LABELS = ["positive", "negative", "neutral"]
RETRY_PAUSE_SECONDS = 0.2


@dataclass
class Submit:
    """One submit as the labeler saw it."""

    worker: str
    assignment_id: int
    item_id: int | None
    outcome: str  # acknowledged | refused | 5xx | dropped | unreachable
    status: int | None
    code: str
    at: float  # seconds since the run's start


@dataclass
class Tally:
    submits: list[Submit] = field(default_factory=list)
    next_outcomes: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_next(self, outcome: str) -> None:
        with self.lock:
            self.next_outcomes[outcome] += 1


class Labeler(threading.Thread):
    """Asks for the next task and submits an answer, in a loop, until told to stop."""

    def __init__(
        self,
        name: str,
        token: str,
        port: int,
        job_id: int,
        tally: Tally,
        started: float,
        stop: threading.Event,
    ):
        super().__init__(name=f"labeler-{name}", daemon=True)
        self.worker = name
        self.client = HttpClient(port, token)
        self.job_id = job_id
        self.tally = tally
        self.started = started
        self.stop_event = stop
        self.random = random.Random(name)

    def run(self) -> None:
        while not self.stop_event.is_set():
            lease = self._next()
            if lease is None:
                continue
            self._submit(*lease)

    def _pause(self) -> None:
        self.stop_event.wait(RETRY_PAUSE_SECONDS)

    def _next(self) -> tuple[int, int | None] | None:
        try:
            status, body = self.client.call("POST", f"/api/v1/jobs/{self.job_id}/tasks/next")
        except Unreachable:
            self.tally.add_next("unreachable")
            self._pause()
            return None
        except (OSError, http.client.HTTPException):
            self.tally.add_next("dropped")
            self._pause()
            return None
        if status == 200:
            self.tally.add_next("leased")
            return body["assignment_id"], body["item"]["id"]
        code = error_code(body)
        self.tally.add_next(f"{status} {code}".strip())
        if status == 409 and code == "too_many_leases":
            # A lease whose submit failed is still ours: answer it again, as the task UI does.
            held = body["error"]["details"].get("assignments") or []
            if held:
                return held[0], None
        self.stop_event.wait(0.5 if status == 204 else RETRY_PAUSE_SECONDS)
        return None

    def _submit(self, assignment_id: int, item_id: int | None) -> None:
        payload = {"answer": {"label": self.random.choice(LABELS)}}
        path = f"/api/v1/assignments/{assignment_id}/submit"
        status, code = None, ""
        try:
            status, body = self.client.call("POST", path, payload)
        except Unreachable:
            outcome = "unreachable"
        except (OSError, http.client.HTTPException) as exc:
            outcome, code = "dropped", exc.__class__.__name__
        else:
            code = error_code(body)
            if 200 <= status < 300:
                outcome = "acknowledged"
            elif status >= 500:
                outcome = "5xx"
            else:
                outcome = "refused"
        at = round(time.monotonic() - self.started, 3)
        record = Submit(self.worker, assignment_id, item_id, outcome, status, code, at)
        with self.tally.lock:
            self.tally.submits.append(record)
        if outcome != "acknowledged":
            self._pause()
