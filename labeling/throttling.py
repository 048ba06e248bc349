"""Abuse protection of sign-up and sign-in: attempt counters and locks in Django's cache.

Sign-up (below, ``signup_throttle_check``) uses fixed-window attempt counters; sign-in
(``signin_attempt_begin``/``signin_attempt_end``) uses failure counters with locks.

Two counters per attempt, each with its own rate from the settings: one per client IP
(``QUORUM_SIGNUP_RATE_PER_IP``) and one per requested username
(``QUORUM_SIGNUP_RATE_PER_USERNAME``); a rate reads ``"<count>/<second|minute|hour|day>"``.
Every attempt counts, successful or not, so guessing or flooding names is slowed as much as
creating accounts. Past either rate the attempt is refused before anything else runs, with
the seconds until its window ends (the Retry-After header).
"""

import contextlib
import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)
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


# --- Sign-in --------------------------------------------------------------------------------
# Failures are counted per account (the name typed) and per client address. From the
# ``QUORUM_SIGNIN_MAX_FAILURES_PER_*``-th failure on, each attempt first takes a lock slot
# (``cache.add``, atomic on Redis) that lasts QUORUM_SIGNIN_LOCK_BASE_SECONDS, doubling with each
# further failure up to QUORUM_SIGNIN_LOCK_MAX_SECONDS. While the slot is held, attempts are
# refused without a password check, right password or not, and do not count. An attempt is
# counted before its password is checked, so a burst of parallel guesses gets exactly the
# allowed number of checks (on Redis; the embedded file cache's incr is not atomic across
# processes). Success clears the account's counter; the address keeps its failures.


class SigninThrottled(Exception):
    def __init__(self, *, scope: str, retry_after: int):
        where = "for this account" if scope == "account" else "from this address"
        self.message = f"Too many failed sign-ins {where}; try again in {_wait_text(retry_after)}."
        super().__init__(self.message)
        self.scope = scope
        self.retry_after = retry_after


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def signin_cache_key(kind: str, scope: str, value: str) -> str:
    """The cache key of an account's or address's failure counter or lock."""
    namespace = getattr(settings, "QUORUM_THROTTLE_NAMESPACE", "throttle")
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{namespace}:signin:{kind}:{scope}:{digest}"


def signin_lock_seconds(*, failures: int, allowed: int) -> int:
    """How long the attempt after ``failures`` failures waits: 0 below the allowance, then the
    base, doubling with each further failure, capped."""
    if failures < allowed:
        return 0
    base = settings.QUORUM_SIGNIN_LOCK_BASE_SECONDS
    return int(
        min(base * 2 ** min(failures - allowed, 32), settings.QUORUM_SIGNIN_LOCK_MAX_SECONDS)
    )


@dataclass
class _Hold:
    scope: str
    value: str
    took_lock: bool


@dataclass
class SigninAttempt:
    address: str
    holds: list[_Hold]


def _count(key: str) -> int:
    memory = settings.QUORUM_SIGNIN_FAILURE_MEMORY_SECONDS
    cache.add(key, 0, timeout=memory)
    try:
        failures = cache.incr(key)
    except ValueError:  # evicted between add and incr: start again
        cache.set(key, 1, timeout=memory)
        failures = 1
    cache.touch(key, memory)
    return failures


def _uncount(key: str) -> None:
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
        cache.decr(key)


def _release(hold: _Hold) -> None:
    counter = signin_cache_key("failures", hold.scope, hold.value)
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
        if cache.decr(counter) <= 0:
            cache.delete(counter)  # no failures: no entry left behind
    if hold.took_lock:
        cache.delete(signin_cache_key("lock", hold.scope, hold.value))


def _hold(scope: str, value: str, allowed: int, now: float) -> _Hold:
    """Count this attempt as a failure in advance; past the allowance, take the lock slot."""
    counter = signin_cache_key("failures", scope, value)
    wait = signin_lock_seconds(failures=_count(counter), allowed=allowed)
    if not wait:
        return _Hold(scope, value, took_lock=False)
    lock = signin_cache_key("lock", scope, value)
    if cache.add(lock, now + wait, timeout=wait):
        return _Hold(scope, value, took_lock=True)
    _uncount(counter)  # refused unchecked: not a failure
    until = cache.get(lock)
    retry_after = max(1, math.ceil(until - now)) if until else 1
    raise SigninThrottled(scope=scope, retry_after=retry_after)


def signin_attempt_begin(*, request: HttpRequest, username: str) -> SigninAttempt:
    """Admit one sign-in attempt, or raise SigninThrottled (check no password then)."""
    now = time.time()
    ip = client_ip(request)
    address = _hold("address", ip, settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ADDRESS, now)
    account_name = username.strip().lower()[:150]
    try:
        account = _hold(
            "account", account_name, settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ACCOUNT, now
        )
    except SigninThrottled:
        _release(address)
        raise
    return SigninAttempt(address=ip, holds=[address, account])


def signin_attempt_end(*, attempt: SigninAttempt, succeeded: bool) -> None:
    """A failure stays counted (and its lock, if it took one, stands). A success clears the
    account's counter and lock, and takes back its count from the address."""
    if not succeeded:
        for hold in attempt.holds:
            if hold.took_lock:
                logger.warning(
                    "sign-in failed past the allowance for this %s (address %s): locked",
                    hold.scope,
                    attempt.address,
                )
        return
    for hold in attempt.holds:
        if hold.scope == "account":
            cache.delete_many(
                [
                    signin_cache_key("failures", hold.scope, hold.value),
                    signin_cache_key("lock", hold.scope, hold.value),
                ]
            )
        else:
            _release(hold)
