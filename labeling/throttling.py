"""Abuse protection of the open sign-up: fixed-window attempt counters in Django's cache.

Two counters per attempt, each with its own rate from the settings: one per client IP
(``QUORUM_SIGNUP_RATE_PER_IP``) and one per requested username
(``QUORUM_SIGNUP_RATE_PER_USERNAME``); a rate reads ``"<count>/<second|minute|hour|day>"``.
Every attempt counts, successful or not, so guessing or flooding names is slowed as much as
creating accounts. Past either rate the attempt is refused before anything else runs, with
the seconds until its window ends (the Retry-After header).
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """``"10/hour"`` -> Rate(10, 3600); a malformed rate is a configuration error."""
    count, _, period = text.partition("/")
    period = period.strip().lower().removesuffix("s")
    if period not in PERIODS or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"a rate reads '<count>/<second|minute|hour|day>', not {text!r}")
    return Rate(int(count), PERIODS[period])


class SignupThrottled(Exception):
    def __init__(self, *, scope: str, retry_after: int):
        super().__init__(f"too many sign-up attempts from this {scope}")
        self.scope = scope
        self.retry_after = retry_after
        self.message = f"too many sign-up attempts from this {scope}; try again in {retry_after} s"


def client_ip(request: HttpRequest) -> str:
    """The peer's address; behind a reverse proxy, the address that proxy appended last."""
    if getattr(settings, "QUORUM_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _hit(scope: str, value: str, rate: Rate, now: float) -> int | None:
    """Count one attempt; the seconds to wait when this one is past the rate, else None."""
    window = int(now // rate.seconds)
    namespace = getattr(settings, "QUORUM_THROTTLE_NAMESPACE", "throttle")
    # Hashed: no raw address or name in the cache, and a key any backend accepts.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    key = f"{namespace}:signup:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=rate.seconds + 1)
    try:
        attempts = cache.incr(key)
    except ValueError:  # evicted between add and incr: start again
        cache.set(key, 1, timeout=rate.seconds + 1)
        attempts = 1
    if attempts <= rate.count:
        return None
    return max(1, int((window + 1) * rate.seconds - now + 0.999))


def signup_throttle_check(*, request: HttpRequest, username: str) -> None:
    """Count this sign-up attempt against its IP and its username; raise when past a rate."""
    now = time.time()
    checks = (
        ("address", client_ip(request), settings.QUORUM_SIGNUP_RATE_PER_IP),
        ("username", username.strip().lower()[:150], settings.QUORUM_SIGNUP_RATE_PER_USERNAME),
    )
    waits = []
    for scope, value, rate_text in checks:
        if not value or not rate_text:
            continue
        wait = _hit(scope, value, parse_rate(rate_text), now)
        if wait is not None:
            waits.append((wait, scope))
    if waits:
        wait, scope = max(waits)
        raise SignupThrottled(scope=scope, retry_after=wait)
