"""The labeling loop's hot path (labeling/hot_path.py) answers as Django and DRF answer: the
same status, JSON body, headers and log lines for next-task and submit, successes and every
error; and it leaves every other request to Django, untouched."""

import json
import logging

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from labeling import api
from labeling.hot_path import HotPathApplication
from labeling.models import Annotation, Assignment, Job
from labeling.serializers import annotation_payload, lease_payload
from labeling.services.assignments import assignment_claim
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
HOST = "127.0.0.1"


@pytest.fixture(autouse=True)
def _connections_kept():
    """As Django's test client does: the test's transaction keeps its connection open."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class RecordingDjango:
    """Django's WSGI application, counting the requests it answers."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def call(app, path, *, token=None, body=None, content_type="application/json", **extra):
    """One POST through a WSGI application: (status, headers, body bytes)."""
    headers = {"HTTP_HOST": HOST, **extra}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    factory = RequestFactory()
    if body is None:
        request = factory.post(path, **headers)
    else:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        request = factory.post(path, data=data, content_type=content_type, **headers)
    environ = request.environ
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = response_headers

    reply = app(environ, start_response)
    try:
        content = b"".join(reply)
    finally:
        reply.close()
    return seen["status"], seen["headers"], content


def header_map(headers) -> dict[str, str]:
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), headers
    return {name.lower(): value for name, value in headers}


def both(path, **kwargs):
    """The same request answered by Django, then by the hot path (which must answer it)."""
    django = RecordingDjango()
    expected = call(django.handler, path, **kwargs)
    hot = HotPathApplication(django)
    got = call(hot, path, **kwargs)
    assert django.calls == 0, "the hot path left this request to Django"
    return expected, got


def assert_same_response(expected, got, *, same_body=True):
    """Same status, headers and body; ``same_body`` False (a lease or an answer of its own,
    with its own ids and times): the same headers but each its own body's length."""
    assert got[0] == expected[0]
    got_headers, expected_headers = header_map(got[1]), header_map(expected[1])
    if same_body:
        assert got[2] == expected[2]
    else:
        for headers, (_, _, content) in ((got_headers, got), (expected_headers, expected)):
            assert headers.pop("content-length") == str(len(content))
    assert got_headers == expected_headers


def token_of(user) -> str:
    return client_for(user)._credentials["HTTP_AUTHORIZATION"].split()[1]


def next_path(job) -> str:
    return f"/api/v1/jobs/{job.pk}/tasks/next"


def submit_path(assignment_id) -> str:
    return f"/api/v1/assignments/{assignment_id}/submit"


def test_a_lease_is_answered_as_django_answers_it(make_job, make_labeler):
    job = make_job(items=4)
    first, second = make_labeler("hp1"), make_labeler("hp2")
    expected = call(WSGIHandler(), next_path(job), token=token_of(first))
    django = RecordingDjango()
    got = call(HotPathApplication(django), next_path(job), token=token_of(second))
    assert django.calls == 0
    assert_same_response(expected, got, same_body=False)
    assert got[0] == "200 OK"
    for (_, _, content), worker in ((expected, first), (got, second)):
        body = json.loads(content)
        lease = Assignment.objects.select_related("item").get(pk=body["assignment_id"])
        lease.job = job
        assert lease.worker_id == worker.pk
        assert body == lease_payload(lease)
    assert header_map(got[1])["content-length"] == str(len(got[2]))


def test_nothing_left_is_a_204_and_a_streaming_job_says_when_to_ask_again(make_job, make_labeler):
    job = make_job(items=1)
    worker = make_labeler("hp1")
    assignment_claim(job=job, worker=make_labeler("hp2"))  # the only item is leased
    expected, got = both(next_path(job), token=token_of(worker))
    assert expected[0] == "204 No Content" and expected[2] == b""
    assert "content-type" not in header_map(expected[1])
    assert_same_response(expected, got)
    Job.objects.filter(pk=job.pk).update(open_ended=True)
    expected, got = both(next_path(job), token=token_of(worker))
    assert header_map(expected[1])["retry-after"] == "2"
    assert_same_response(expected, got)


def test_claim_errors_are_the_same(make_job, make_labeler, manager, caplog):
    job = make_job(items=3, max_concurrent_tasks_per_worker=1)
    worker = make_labeler("hp1")
    token = token_of(worker)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        expected, got = both("/api/v1/jobs/987654/tasks/next", token=token)
    assert expected[0] == "404 Not Found"
    assert_same_response(expected, got)
    logged = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert logged == ["Not Found: /api/v1/jobs/987654/tasks/next"] * 2

    assignment_claim(job=job, worker=worker)  # the one lease allowed is taken
    expected, got = both(next_path(job), token=token)
    assert expected[0].startswith("409")
    assert json.loads(expected[2])["error"]["code"] == "too_many_leases"
    assert_same_response(expected, got)


def test_a_submit_is_answered_as_django_answers_it(make_job, make_labeler):
    job = make_job(items=3)
    first, second = make_labeler("hp1"), make_labeler("hp2")
    leases = [assignment_claim(job=job, worker=worker) for worker in (first, second)]
    answer = {"answer": {"label": "dog"}}
    expected = call(WSGIHandler(), submit_path(leases[0].pk), token=token_of(first), body=answer)
    django = RecordingDjango()
    got = call(
        HotPathApplication(django), submit_path(leases[1].pk), token=token_of(second), body=answer
    )
    assert django.calls == 0
    assert got[0] == "201 Created"
    assert_same_response(expected, got, same_body=False)
    for (_, _, content), lease in zip((expected, got), leases, strict=True):
        body = json.loads(content)
        stored = Annotation.objects.get(assignment_id=lease.pk)
        assert body == json.loads(json.dumps(annotation_payload(stored)))
        assert body["answer"] == {"label": "dog"}


def test_submit_errors_are_the_same(make_job, make_labeler, caplog):
    job = make_job(items=3)
    worker, other = make_labeler("hp1"), make_labeler("hp2")
    token = token_of(worker)
    lease = assignment_claim(job=job, worker=worker)
    # Not one of the job's labels.
    expected, got = both(submit_path(lease.pk), token=token, body={"answer": {"label": "zebra"}})
    assert expected[0].startswith("400")
    assert_same_response(expected, got)
    # Someone else's lease.
    expected, got = both(submit_path(lease.pk), token=token_of(other), body={"answer": "cat"})
    assert expected[0][:3] in {"403", "404"}
    assert_same_response(expected, got)
    call(WSGIHandler(), submit_path(lease.pk), token=token, body={"answer": {"label": "cat"}})
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        expected, got = both(submit_path(lease.pk), token=token, body={"answer": {"label": "cat"}})
    assert expected[0].startswith("409")
    assert_same_response(expected, got)
    logged = [record.getMessage() for record in caplog.records if record.name == "django.request"]
    assert logged == [f"Conflict: {submit_path(lease.pk)}"] * 2
    expected, got = both(submit_path(987654), token=token, body={"answer": {"label": "cat"}})
    assert_same_response(expected, got)


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("no credentials", {}),
        ("a bad token", {"token": "not-a-token"}),
        ("a token with a space", {"HTTP_AUTHORIZATION": "Token a b"}),
        ("another scheme", {"HTTP_AUTHORIZATION": "Bearer abc"}),
        ("the manager's token", {"as_manager": True}),
        ("a page's Accept", {"HTTP_ACCEPT": "text/html"}),
        ("a query", {"QUERY_STRING": "format=json"}),
        ("a host not allowed", {"HTTP_HOST": "evil.example"}),
        ("a body over the limit", {"CONTENT_LENGTH": str(10**12)}),
    ],
)
def test_what_the_hot_path_does_not_know_is_left_to_django(
    case, kwargs, make_job, make_labeler, manager
):
    job = make_job(items=4, max_concurrent_tasks_per_worker=4)
    worker = make_labeler("hp1")
    kwargs = dict(kwargs)
    if kwargs.pop("as_manager", False):
        kwargs["token"] = token_of(manager)
    elif "HTTP_AUTHORIZATION" not in kwargs:
        kwargs.setdefault("token", token_of(worker) if case != "no credentials" else None)
    if kwargs.get("token") is None:
        kwargs.pop("token", None)
    expected = call(WSGIHandler(), next_path(job), **kwargs)
    django = RecordingDjango()
    got = call(HotPathApplication(django), next_path(job), **kwargs)
    assert django.calls == 1, case
    assert got[0] == expected[0], case
    assert header_map(got[1]).keys() == header_map(expected[1]).keys()
    if not got[0].startswith("200"):  # a lease's body has its own ids and times
        assert got[2] == expected[2]
        assert header_map(got[1]) == header_map(expected[1])


@pytest.mark.parametrize(
    ("case", "body", "content_type"),
    [
        ("no answer", {"label": "cat"}, "application/json"),
        ("a null answer", {"answer": None}, "application/json"),
        ("not an object", [1, 2], "application/json"),
        ("not JSON", "{answer", "application/json"),
        ("NaN", '{"answer": NaN}', "application/json"),
        ("a form", "answer=cat", "application/x-www-form-urlencoded"),
    ],
)
def test_bodies_the_hot_path_does_not_take_are_left_to_django(
    case, body, content_type, make_job, make_labeler
):
    job = make_job(items=2)
    worker = make_labeler("hp1")
    lease = assignment_claim(job=job, worker=worker)
    kwargs = {"token": token_of(worker), "body": body, "content_type": content_type}
    expected = call(WSGIHandler(), submit_path(lease.pk), **kwargs)
    django = RecordingDjango()
    got = call(HotPathApplication(django), submit_path(lease.pk), **kwargs)
    assert django.calls == 1, case
    assert expected[0][:1] == "4", (case, expected)
    assert_same_response(expected, got)


def test_off_by_setting_everything_goes_to_django(make_job, make_labeler, settings):
    settings.QUORUM_API_HOT_PATH = False
    job = make_job(items=2)
    worker = make_labeler("hp1")
    django = RecordingDjango()
    status, _, _ = call(HotPathApplication(django), next_path(job), token=token_of(worker))
    assert status == "200 OK" and django.calls == 1


def test_another_middleware_turns_it_off(make_job, make_labeler, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    job = make_job(items=2)
    worker = make_labeler("hp1")
    django = RecordingDjango()
    status, _, _ = call(HotPathApplication(django), next_path(job), token=token_of(worker))
    assert status == "200 OK" and django.calls == 1


def test_over_https_the_headers_match_too(make_job, make_labeler, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    job = make_job(items=1)
    worker = make_labeler("hp1")
    assignment_claim(job=job, worker=make_labeler("hp2"))
    expected, got = both(next_path(job), token=token_of(worker), HTTP_X_FORWARDED_PROTO="https")
    assert "strict-transport-security" in header_map(expected[1])
    assert_same_response(expected, got)


def test_a_failure_inside_is_answered_as_django_answers_it(
    make_job, make_labeler, caplog, monkeypatch
):
    """The claim fails inside (here made to): a 500 from handler500, logged with the error,
    alike on both paths."""
    job = make_job(items=1)
    worker = make_labeler("hp1")

    def fails(**kwargs):
        raise RuntimeError("the claim failed")

    monkeypatch.setattr(api, "task_next_reply", fails)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        expected, got = both(next_path(job), token=token_of(worker))
    assert expected[0][:3] == "500", expected
    assert_same_response(expected, got)
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "django.request"]
    assert len(logged) == 2 and logged[0] == logged[1]


@pytest.mark.parametrize(
    "path", [f"/api/v1/jobs/{10**20}/tasks/next", f"/api/v1/assignments/{2**63}/submit"]
)
def test_an_id_past_the_databases_integers_is_left_to_django_which_answers_404(make_labeler, path):
    """No object has such an id: the address does not resolve (labeling/converters.py), on
    SQLite too, whose driver used to fail on it with a 500."""
    django = RecordingDjango()
    status, _, content = call(
        HotPathApplication(django), path, token=token_of(make_labeler("hp1")), body={"answer": {}}
    )
    assert django.calls == 1
    assert status.startswith("404") and json.loads(content)["error"]["code"] == "not_found"
