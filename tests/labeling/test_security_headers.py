"""Every page carries a strict Content-Security-Policy, HSTS goes out over HTTPS, and the API
docs page needs nothing but this server (issue 12)."""

import re

import pytest
from django.test import Client

from labeling.services.assignments import assignment_claim

pytestmark = pytest.mark.django_db
WILDCARDS = {"*", "http:", "https:"}


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_strict(response):
    policy = response.headers.get("Content-Security-Policy")
    assert policy, f"{response.status_code} {response.request['PATH_INFO']} has no CSP"
    parsed = directives(policy)
    for name in ("img-src", "script-src", "default-src"):
        sources = parsed.get(name, parsed.get("default-src"))
        assert sources, f"{name} missing in {policy}"
        assert not WILDCARDS & set(sources), f"{name} open to every host: {policy}"
        assert not any("*" in source for source in sources), policy
    assert parsed["frame-ancestors"] == ["'none'"]
    return parsed


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_kind_of_page_has_a_strict_policy(manager, labeler, make_job):
    job = make_job()
    lease = assignment_claim(job=job, worker=labeler)
    anonymous, worker, boss = Client(), signed_in(labeler), signed_in(manager)
    pages = [
        (anonymous, "/login/", 200),
        (anonymous, "/admin/login/", 200),
        (anonymous, "/api/v1/docs", 200),
        (anonymous, "/api/v1/schema", 200),
        (anonymous, "/no/such/page/", 404),
        (anonymous, "/api/v1/no-such-endpoint", 404),
        (boss, "/console/", 200),
        (worker, "/work/", 200),
        (worker, f"/work/jobs/{job.pk}/", 200),
        (worker, f"/work/assignments/{lease.pk}/ui", 200),
    ]
    for client, path, status in pages:
        response = client.get(path)
        assert response.status_code == status, (path, response.status_code)
        parsed = assert_strict(response)
        assert parsed["img-src"] == ["'self'", "data:", "blob:"], path


def test_media_origins_come_from_the_setting(settings, labeler, make_job):
    settings.QUORUM_CSP_MEDIA_ORIGINS = ["https://media.example.com", "https://s3.example.net"]
    make_job()
    parsed = assert_strict(signed_in(labeler).get("/work/"))
    expected = ["'self'", "data:", "blob:", "https://media.example.com", "https://s3.example.net"]
    assert parsed["img-src"] == expected
    assert parsed["media-src"] == expected


def test_hsts_is_sent_on_https_requests_only():
    assert "Strict-Transport-Security" not in Client().get("/login/").headers
    secure = Client().get("/login/", secure=True)
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_api_docs_page_loads_only_same_origin_assets():
    client = Client()
    page = client.get("/api/v1/docs").content.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs, page
    for ref in refs:
        assert ref.startswith("/"), f"{ref} is not served by Quorum"
        assert not ref.startswith("//"), ref
        assert client.get(ref).status_code == 200, ref
    assert "<script>" not in page and "<style>" not in page  # nothing inline for the CSP
