"""Abuse protection of the open crowd sign-up: throttles per IP and per username, and
password rules that the refusal names."""

import pytest
from rest_framework.test import APIClient

from labeling.models import User
from labeling.throttling import parse_rate

pytestmark = pytest.mark.django_db

URL = "/api/v1/crowd/signup"


def _attempt(name: str, *, ip: str = "10.0.0.1", password: str = "long-enough-pass-417"):
    return APIClient().post(
        URL, {"username": name, "password": password}, format="json", REMOTE_ADDR=ip
    )


def test_the_rate_per_ip_answers_429_with_retry_after(settings):
    settings.QUORUM_SIGNUP_RATE_PER_IP = "3/hour"
    for n in range(3):
        assert _attempt(f"worker{n}").status_code == 201
    refused = _attempt("worker3")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"]["code"] == "throttled"
    assert "too many sign-up attempts from this address" in body["error"]["message"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert not User.objects.filter(username="worker3").exists()
    # another address is not held back by this one
    assert _attempt("worker3", ip="10.0.0.2").status_code == 201


def test_failed_attempts_count_too(settings):
    settings.QUORUM_SIGNUP_RATE_PER_IP = "2/minute"
    assert _attempt("weak1", password="123").status_code == 400
    assert _attempt("weak2", password="123").status_code == 400
    refused = _attempt("strong", password="long-enough-pass-417")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60


def test_the_rate_per_username_holds_across_addresses(settings):
    settings.QUORUM_SIGNUP_RATE_PER_USERNAME = "2/hour"
    assert _attempt("target", ip="10.1.0.1").status_code == 201
    assert _attempt("target", ip="10.1.0.2").status_code == 409  # taken, and counted
    refused = _attempt("Target", ip="10.1.0.3")
    assert refused.status_code == 429
    assert "from this username" in refused.json()["error"]["message"]
    assert _attempt("someone-else", ip="10.1.0.3").status_code == 201


def test_the_web_sign_up_is_throttled_too(settings, client):
    settings.QUORUM_SIGNUP_RATE_PER_IP = "1/hour"
    form = {"username": "webby", "password": "long-enough-pass-417"}
    assert client.post("/signup", form).status_code == 302
    refused = client.post("/signup", {**form, "username": "webby2"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "too many sign-up attempts" in refused.content.decode()


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short-1", "password_too_short"),
        ("password1234", "password_too_common"),
        ("8491027364551", "password_entirely_numeric"),
        ("alice-the-labeler", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused_naming_the_rule(password, rule):
    refused = APIClient().post(
        URL, {"username": "alice-the-labeler", "password": password}, format="json"
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "weak_password"
    assert rule in error["message"] and rule in error["details"]["rules"]
    assert error["details"]["field"] == "password"
    assert not User.objects.filter(username="alice-the-labeler").exists()


def test_the_web_form_names_the_rule(client):
    page = client.post("/signup", {"username": "bob", "password": "password1234"})
    assert page.status_code == 200 and "password_too_common" in page.content.decode()


def test_rates_parse_or_fail_loudly():
    assert parse_rate("10/hour") == parse_rate("10/hours")
    assert parse_rate("5/minute").seconds == 60
    for bad in ("ten/hour", "5/fortnight", "0/hour", "5"):
        with pytest.raises(ValueError):
            parse_rate(bad)
