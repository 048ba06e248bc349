"""Calling a hook: one signed POST (or a call of an allowed Python callable), retried with
backoff when the failure may pass, every attempt kept as a ``HookCall`` row for the log.

Retried (``QUORUM_HOOK_ATTEMPTS`` attempts in all, waiting ``QUORUM_HOOK_BACKOFF_SECONDS``,
then twice that, ...): no answer (timed out, connection refused or failed), HTTP 5xx and 429,
a callable that raised. Not retried: an address the outbound rules refuse, any other status
(3xx: redirects are not followed; 4xx), and an answer that is not JSON or not of the event's
shape (the caller checks the shape): a hook that answers garbage answers it again.
"""

import importlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from labeling.models import AnnotationHook, HookCall
from labeling.outbound import OutboundConnection, body_signature
from labeling.pipelines.services.hooks import hook_callable_allowed, hook_secret

# The largest answer read from a hook; a longer one is cut and so is not JSON.
MAX_ANSWER_BYTES = 8 * 2**20
MAX_ERROR_CHARS = 500
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
NOT_RETRIED_ERRORS = ("address not allowed", "URL not allowed")


@dataclass
class HookOutcome:
    """What a hook answered (``answer``, parsed JSON) or why not (``error``), and the log."""

    answer: Any = None
    error: str = ""
    calls: list[HookCall] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    def fail(self, reason: str) -> None:
        """The answer came but is not of the event's shape: a failure, logged on its call."""
        self.error = reason[:MAX_ERROR_CHARS]
        if self.calls:
            self.calls[-1].ok = False
            self.calls[-1].error = self.error


@dataclass(frozen=True)
class _Attempt:
    answer: Any
    error: str
    http_status: int | None
    retry: bool


@dataclass(frozen=True)
class HookTarget:
    """What a call needs of a hook, read once per task (the secret decrypted once)."""

    hook_id: int
    url: str
    callable_path: str
    secret: str
    timeout: float

    @classmethod
    def of(cls, hook: AnnotationHook) -> "HookTarget":
        return cls(hook.pk, hook.url, hook.callable_path, hook_secret(hook), hook.timeout_seconds)


# One kept-alive connection per thread (a task's pool calls one hook for many items).
_THREAD = threading.local()


def _connection() -> OutboundConnection:
    connection = getattr(_THREAD, "connection", None)
    if connection is None:
        connection = _THREAD.connection = OutboundConnection()
    return connection


def _post(target: HookTarget, body: bytes, kind: str, attempt: int) -> _Attempt:
    headers = {
        "Content-Type": "application/json",
        "X-Quorum-Signature": body_signature(body, target.secret),
        "X-Quorum-Hook": kind,
        "X-Quorum-Attempt": str(attempt),
    }
    result = _connection().request(
        "POST",
        target.url,
        body=body,
        headers=headers,
        timeout=target.timeout,
        max_bytes=MAX_ANSWER_BYTES,
    )
    if result.status is None:
        return _Attempt(None, result.error, None, not result.error.startswith(NOT_RETRIED_ERRORS))
    if not result.ok:
        return _Attempt(
            None, f"HTTP {result.status}", result.status, result.status in RETRIED_STATUSES
        )
    try:
        return _Attempt(json.loads(result.body), "", result.status, False)
    except (ValueError, UnicodeDecodeError):
        return _Attempt(None, "the answer is not JSON", result.status, False)


_CALLABLES: dict[str, Callable[[dict[str, Any]], Any]] = {}


def _callable(path: str) -> Callable[[dict[str, Any]], Any]:
    if path not in _CALLABLES:
        module_name, _, attribute = path.rpartition(".")
        _CALLABLES[path] = getattr(importlib.import_module(module_name), attribute)
    return _CALLABLES[path]


def _call(target: HookTarget, event: dict[str, Any]) -> _Attempt:
    if not hook_callable_allowed(target.callable_path):  # the allow-list may have shrunk
        return _Attempt(
            None, "the callable is no longer allowed (QUORUM_HOOK_CALLABLES)", None, False
        )
    try:
        function = _callable(target.callable_path)
    except (ImportError, AttributeError, ValueError):
        return _Attempt(None, "the callable cannot be imported", None, False)
    try:
        # Through JSON both ways, so a callable sees and answers exactly what a URL would.
        answer = function(json.loads(json.dumps(event)))
        return _Attempt(json.loads(json.dumps(answer)), "", None, False)
    except (TypeError, ValueError):
        return _Attempt(None, "the answer is not JSON", None, False)
    except Exception as exc:  # noqa: BLE001 - the operator's code: any failure is retried
        return _Attempt(None, f"the callable raised {type(exc).__name__}", None, True)


def hook_invoke(
    target: HookTarget,
    event: dict[str, Any],
    *,
    job_id: int,
    item_id: int | None,
    kind: str,
    sleep: Callable[[float], None] = time.sleep,
) -> HookOutcome:
    """Call the hook with ``event`` until it answers or fails for good; the log rows are
    returned unsaved (the caller stores them with its results, in bulk)."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    outcome = HookOutcome()
    attempts = max(1, settings.QUORUM_HOOK_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        called_at = timezone.now()
        started = time.monotonic()
        result = _post(target, body, kind, attempt) if target.url else _call(target, event)
        outcome.calls.append(
            HookCall(
                hook_id=target.hook_id,
                job_id=job_id,
                item_id=item_id,
                kind=kind,
                attempt=attempt,
                ok=not result.error,
                http_status=result.http_status,
                error=result.error[:MAX_ERROR_CHARS],
                called_at=called_at,
                duration_ms=round((time.monotonic() - started) * 1000, 3),
            )
        )
        if not result.error:
            outcome.answer = result.answer
            return outcome
        if not result.retry or attempt == attempts:
            break
        sleep(settings.QUORUM_HOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))
    retried = f" after {len(outcome.calls)} attempts" if len(outcome.calls) > 1 else ""
    outcome.error = f"{result.error}{retried}"[:MAX_ERROR_CHARS]
    return outcome
