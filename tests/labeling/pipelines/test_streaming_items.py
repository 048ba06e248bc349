"""Streaming jobs: settings, items posted by client key (dedupe, all or none, errors naming the
item), who may post, the empty claim's Retry-After, and a job that runs until stopped."""

import pytest

from labeling.models import ImportRun, Item, Job, StreamItem
from labeling.pipelines.services.streaming import MAX_ITEMS_PER_REQUEST
from labeling.states import JobStatus
from tests.conftest import client_for


def post_items(client, job, body, **headers):
    return client.post(f"/api/v1/jobs/{job.pk}/items", body, format="json", **headers)


def test_a_draft_job_becomes_streaming_and_starts_empty_with_no_end(manager, make_job):
    job = make_job(items=0, start=False)
    client = client_for(manager)
    answer = client.put(
        f"/api/v1/jobs/{job.pk}/stream", {"item_lifetime_seconds": 120}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["item_lifetime_seconds"] == 120
    assert answer.json()["counts"]["items_posted"] == 0
    started = client.post(f"/api/v1/jobs/{job.pk}/start")
    assert started.status_code == 200, started.content
    job.refresh_from_db()
    assert job.open_ended and job.status == JobStatus.IN_PROGRESS and job.expires_at is None
    # A started job cannot become streaming; a webhook needs its secret.
    other = make_job(items=1)
    refused = client.put(f"/api/v1/jobs/{other.pk}/stream", {}, format="json")
    assert refused.status_code == 409
    no_secret = client.put(
        f"/api/v1/jobs/{job.pk}/stream", {"webhook_url": "https://example.org/h"}, format="json"
    )
    assert no_secret.status_code == 400
    assert no_secret.json()["error"]["details"]["field"] == "webhook_secret"
    not_http = client.put(
        f"/api/v1/jobs/{job.pk}/stream",
        {"webhook_url": "ftp://example.org/h", "webhook_secret": "s"},
        format="json",
    )
    assert not_http.status_code == 400


def test_a_resent_item_is_not_added_twice(manager, make_stream_job):
    job = make_stream_job()
    client = client_for(manager)
    first = post_items(client, job, {"clientKey": "k-1", "source": "a cat"})
    assert first.status_code == 201, first.content
    again = post_items(client, job, {"clientKey": "k-1", "source": "a cat"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    by_header = post_items(client, job, {"source": "a dog"}, HTTP_X_CLIENT_KEY="k-2")
    assert by_header.status_code == 201 and by_header.json()["clientKey"] == "k-2"
    batch = post_items(
        client,
        job,
        {"items": [{"clientKey": "k-2", "source": "a dog"}, {"clientKey": "k-3", "source": "x"}]},
    )
    assert batch.status_code == 201
    rows = batch.json()["items"]
    assert [row["created"] for row in rows] == [False, True]
    assert rows[0]["id"] == by_header.json()["id"]
    assert Item.objects.filter(job=job).count() == 3
    stored = Item.objects.get(pk=first.json()["id"]).data
    assert "clientKey" not in stored and '"source":"a cat"' in stored
    detail = client.get(f"/api/v1/jobs/{job.pk}").json()
    assert detail["counts"]["items_total"] == 3


def test_a_batch_is_all_or_none_and_names_the_bad_item(manager, make_stream_job):
    job = make_stream_job()
    client = client_for(manager)
    bad = post_items(
        client,
        job,
        [
            {"clientKey": "a", "source": "fine"},
            {"clientKey": "b", "text": "no source"},
            {"clientKey": "c", "source": "fine"},
        ],
    )
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["details"]["index"] == 1 and error["message"].startswith("items[1]:")
    no_key = post_items(client, job, [{"source": "x"}])
    assert no_key.status_code == 400 and no_key.json()["error"]["details"]["field"] == "clientKey"
    twice = post_items(client, job, [{"clientKey": "a", "source": "x"}] * 2)
    assert twice.status_code == 400 and "items[0]" in twice.json()["error"]["message"]
    reserved = post_items(
        client, job, {"clientKey": "r", "source": "x", job.label_attribute_name: 1}
    )
    assert reserved.status_code == 400
    too_many = post_items(
        client,
        job,
        [{"clientKey": str(i), "source": "x"} for i in range(MAX_ITEMS_PER_REQUEST + 1)],
    )
    assert too_many.status_code == 400
    assert not Item.objects.filter(job=job).exists() and not StreamItem.objects.exists()


def test_labelers_cannot_post_or_read_results_and_a_stopped_job_takes_nothing(
    manager, labeler, make_stream_job
):
    job = make_stream_job()
    as_labeler = client_for(labeler)
    assert post_items(as_labeler, job, {"clientKey": "k", "source": "x"}).status_code == 403
    assert as_labeler.get(f"/api/v1/jobs/{job.pk}/results").status_code == 403
    assert as_labeler.put(f"/api/v1/jobs/{job.pk}/stream", {}, format="json").status_code == 403
    client = client_for(manager)
    assert client.post(f"/api/v1/jobs/{job.pk}/stop").status_code == 200
    closed = post_items(client, job, {"clientKey": "k", "source": "x"})
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "job_closed"


def test_a_non_streaming_job_keeps_the_import(manager, make_job):
    job = make_job(items=1)
    answer = post_items(client_for(manager), job, [{"source": "imported"}])
    assert answer.status_code == 202, answer.content
    assert ImportRun.objects.filter(job=job).count() == 2  # the fixture's and this one
    assert not StreamItem.objects.exists()


def test_an_idle_labeler_is_told_to_ask_again_and_gets_the_new_item(
    manager, labeler, make_stream_job
):
    job = make_stream_job()
    as_labeler = client_for(labeler)
    empty = as_labeler.post(f"/api/v1/jobs/{job.pk}/tasks/next")
    assert empty.status_code == 204 and int(empty["Retry-After"]) > 0
    post_items(client_for(manager), job, {"clientKey": "new", "source": "a bird"})
    lease = as_labeler.post(f"/api/v1/jobs/{job.pk}/tasks/next")
    assert lease.status_code == 200
    submitted = as_labeler.post(
        f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
        {"answer": {"label": "bird"}},
        format="json",
    )
    assert submitted.status_code == 201
    # Every item labeled: a streaming job goes on.
    assert Job.objects.get(pk=job.pk).status == JobStatus.IN_PROGRESS
    again = as_labeler.post(f"/api/v1/jobs/{job.pk}/tasks/next")
    assert again.status_code == 204 and again.has_header("Retry-After")


@pytest.mark.parametrize("body", ["not json", "[]", "3"])
def test_a_body_that_is_no_item_is_refused(manager, make_stream_job, body):
    job = make_stream_job()
    answer = client_for(manager).post(
        f"/api/v1/jobs/{job.pk}/items", body, content_type="application/json"
    )
    assert answer.status_code == 400
