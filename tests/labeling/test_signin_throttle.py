"""Sign-in throttling on /login/ and /admin/login/: per account and per address, with a lock
that doubles with each further failure, a message saying how long to wait, and no password
checked while locked."""

import os
import threading

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from labeling.models import Role
from labeling.services.users import user_create
from labeling.throttling import (
    SigninThrottled,
    signin_attempt_begin,
    signin_cache_key,
    signin_lock_seconds,
)

pytestmark = pytest.mark.django_db

RIGHT = "right-pass-8812"


@pytest.fixture(autouse=True)
def _own_file_cache(settings, tmp_path):
    """The embedded file cache culls a random third of its entries once full; a folder of its
    own per test keeps other tests' entries from culling this one's."""
    default = settings.CACHES["default"]
    if default["BACKEND"].endswith("FileBasedCache"):
        settings.CACHES = {"default": {**default, "LOCATION": str(tmp_path / "cache")}}


@pytest.fixture
def account(settings):
    settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 5
    settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ADDRESS = 20
    settings.QUORUM_SIGNIN_LOCK_BASE_SECONDS = 30
    settings.QUORUM_SIGNIN_LOCK_MAX_SECONDS = 3600
    user, _, _ = user_create(username="victim", role=Role.MANAGER, password=RIGHT)
    user.is_staff = True  # so that the right password would open /admin/ too
    user.save(update_fields=["is_staff"])
    return user


def _sign_in(url: str, username: str, password: str, *, ip: str = "10.1.0.1"):
    return Client(REMOTE_ADDR=ip).post(url, {"username": username, "password": password})


def _lock_runs_out(username: str) -> None:
    """What time passing does to the account's lock (the cache entry expires)."""
    cache.delete(signin_cache_key("lock", "account", username))


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_five_failures_lock_the_account_even_against_the_right_password(url, account):
    for _ in range(5):
        response = _sign_in(url, "victim", "wrong-guess-1")
        assert response.status_code == 200
        assert "_auth_user_id" not in response.wsgi_request.session
    refused = _sign_in(url, "victim", RIGHT)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 30
    page = refused.content.decode()
    assert "Too many failed sign-ins for this account" in page
    assert "try again in" in page
    assert "_auth_user_id" not in refused.wsgi_request.session
    # From another address too: the lock is on the account.
    assert _sign_in(url, "victim", RIGHT, ip="10.9.9.9").status_code == 429


def test_the_lock_doubles_with_each_further_failure_and_is_capped(settings):
    settings.QUORUM_SIGNIN_LOCK_BASE_SECONDS = 30
    settings.QUORUM_SIGNIN_LOCK_MAX_SECONDS = 200
    assert signin_lock_seconds(failures=4, allowed=5) == 0
    assert [signin_lock_seconds(failures=n, allowed=5) for n in range(5, 10)] == [
        30,
        60,
        120,
        200,
        200,
    ]


def test_after_the_lock_a_further_failure_locks_for_twice_as_long(account):
    for _ in range(5):
        _sign_in("/login/", "victim", "wrong-guess-1")
    assert 1 <= int(_sign_in("/login/", "victim", RIGHT)["Retry-After"]) <= 30
    _lock_runs_out("victim")
    assert _sign_in("/login/", "victim", "wrong-guess-6").status_code == 200  # checked, wrong
    again = _sign_in("/login/", "victim", RIGHT)
    assert again.status_code == 429 and 30 < int(again["Retry-After"]) <= 60


def test_success_resets_the_account_counter(account):
    for _ in range(4):
        _sign_in("/login/", "victim", "wrong-guess-1")
    signed_in = _sign_in("/login/", "victim", RIGHT)
    assert signed_in.status_code == 302
    for _ in range(4):
        assert _sign_in("/login/", "victim", "wrong-guess-2").status_code == 200
    assert _sign_in("/login/", "victim", RIGHT).status_code == 302


def test_twenty_failures_from_one_address_lock_that_address(account, settings):
    for n in range(20):
        assert _sign_in("/login/", f"nobody{n}", "wrong-guess-1").status_code == 200
    refused = _sign_in("/login/", "victim", RIGHT)
    assert refused.status_code == 429
    assert "Too many failed sign-ins from this address" in refused.content.decode()
    # Another address is not held back, and the account itself is not locked.
    assert _sign_in("/login/", "victim", RIGHT, ip="10.1.0.2").status_code == 302


def test_forwarded_for_is_ignored_unless_trusted(account, settings):
    settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ADDRESS = 3
    for n in range(3):
        Client(REMOTE_ADDR="10.1.0.1").post(
            "/login/",
            {"username": f"nobody{n}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    # Three different forwarded addresses, one peer: the peer is what counts.
    assert _sign_in("/login/", "victim", RIGHT, ip="10.1.0.1").status_code == 429


@pytest.mark.services
def test_a_parallel_burst_gets_exactly_the_allowed_checks_on_redis(settings):
    if not settings.REDIS_URL:
        if os.environ.get("QUORUM_REQUIRE_SERVICES"):
            pytest.fail("QUORUM_REQUIRE_SERVICES is set but REDIS_URL is empty")
        pytest.skip("needs REDIS_URL: the embedded file cache's incr is not atomic")
    settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 5
    settings.QUORUM_SIGNIN_MAX_FAILURES_PER_ADDRESS = 1000
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.1.0.7")
    admitted, refused = [], []
    start = threading.Barrier(24)

    def attempt() -> None:
        start.wait()
        try:
            admitted.append(signin_attempt_begin(request=request, username="victim"))
        except SigninThrottled:
            refused.append(1)

    threads = [threading.Thread(target=attempt) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(admitted), len(refused)) == (5, 19)
