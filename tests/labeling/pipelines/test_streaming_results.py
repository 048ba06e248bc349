"""A streaming job's results: the feed (cursor, order per item, relabels, expirations with their
reason, the long-poll returning early) and the signed per-item webhook with its retries."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labeling.models import (
    Item,
    StreamDeliveryAttempt,
    StreamEvent,
    StreamItem,
)
from labeling.pipelines.services.stream_events import cursor_decode
from labeling.pipelines.services.streaming import stream_items_expire
from labeling.review.services.reviews import job_review_configure, review_fix
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.states import ItemStatus
from tests.conftest import client_for
from tests.labeling.pipelines.conftest import SECRET

# The feed's rows are numbered after their transaction commits: real commits.
pytestmark = pytest.mark.django_db(transaction=True)


def post_item(manager, job, key: str, text: str) -> int:
    answer = client_for(manager).post(
        f"/api/v1/jobs/{job.pk}/items", {"clientKey": key, "source": text}, format="json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def answer(job, worker, label: str) -> None:
    lease = assignment_claim(job=job, worker=worker)
    assert lease is not None
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})


def read_feed(client, job, after: str = "", wait: int = 0) -> dict:
    query = f"?after={after}&wait={wait}" if after else f"?wait={wait}"
    response = client.get(f"/api/v1/jobs/{job.pk}/results{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_result_is_on_the_feed_with_its_manifest_line_and_a_relabel_follows(
    manager, labeler, make_stream_job
):
    job = make_stream_job()
    job_review_configure(job=job, mode="all")
    client = client_for(manager)
    first = read_feed(client, job)
    assert first["results"] == []
    item_id = post_item(manager, job, "k-1", "a cat")
    answer(job, labeler, "cat")
    page = read_feed(client, job, first["cursor"])
    [event] = page["results"]
    assert event["event"] == "item.consolidated" and event["clientKey"] == "k-1"
    assert event["itemId"] == item_id and event["jobId"] == job.pk
    line = event["manifestLine"]
    assert line["source"] == "a cat" and line[job.label_attribute_name] == 0
    assert line[f"{job.label_attribute_name}-metadata"]["class-name"] == "cat"
    assert page["cursor"] == event["cursor"]
    assert read_feed(client, job, page["cursor"])["results"] == []
    review_fix(job=job, item_id=item_id, reviewer=manager, answer={"label": "dog"})
    [relabel] = read_feed(client, job, page["cursor"])["results"]
    assert relabel["event"] == "item.relabeled" and relabel["itemId"] == item_id
    assert relabel["manifestLine"][f"{job.label_attribute_name}-metadata"]["class-name"] == "dog"
    assert cursor_decode(relabel["cursor"]) > cursor_decode(event["cursor"])
    everything = read_feed(client, job)["results"]
    assert [e["event"] for e in everything] == ["item.consolidated", "item.relabeled"]
    bad = client.get(f"/api/v1/jobs/{job.pk}/results?after=nonsense")
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "after"


def test_an_unanswered_item_expires_with_its_reason(manager, labeler, make_stream_job):
    job = make_stream_job(item_lifetime_seconds=60)
    answered = post_item(manager, job, "answered", "a cat")
    held = post_item(manager, job, "held", "a labeler holds it")
    waiting = post_item(manager, job, "waiting", "nobody comes")
    lease = assignment_claim(job=job, worker=labeler)
    assert lease.item_id == answered  # the queue goes in order
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    holding = assignment_claim(job=job, worker=labeler)
    assert holding.item_id == held
    # Every item's lifetime ends (moved back, rather than waiting a minute): the answered one
    # leaves the due list, the held one waits for its lease to end, the other expires.
    StreamItem.objects.filter(job=job).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert stream_items_expire() == {"expired": 1, "settled": 1}
    annotation_submit(assignment_id=holding.pk, worker=labeler, answer={"label": "dog"})
    assert stream_items_expire() == {"expired": 0, "settled": 1}  # once, and the held one ended
    assert Item.objects.get(pk=waiting).status == ItemStatus.EXPIRED
    assert Item.objects.get(pk=held).status == ItemStatus.LABELED
    stream_item = StreamItem.objects.get(item_id=waiting)
    assert stream_item.expired_at is not None
    assert stream_item.expiry_reason == "not answered within its lifetime of 60 s (0 of 1 answers)"
    # Not offered to labelers, counted, on the feed with its reason, and in the data manager.
    assert assignment_claim(job=job, worker=labeler) is None
    client = client_for(manager)
    settings = client.get(f"/api/v1/jobs/{job.pk}/stream").json()
    assert settings["counts"]["items_expired"] == 1 and settings["counts"]["items_posted"] == 3
    events = read_feed(client, job)["results"]
    assert [(e["event"], e["clientKey"]) for e in events] == [
        ("item.consolidated", "answered"),
        ("item.expired", "waiting"),
        ("item.consolidated", "held"),
    ]
    assert events[1]["expiryReason"] == stream_item.expiry_reason
    assert events[1]["inputLine"] == {"source": "nobody comes"}
    rows = client.get(f"/api/v1/jobs/{job.pk}/items?status=expired").json()["results"]
    assert [(row["id"], row["status_reason"]) for row in rows] == [
        (waiting, stream_item.expiry_reason)
    ]
    history = client.get(f"/api/v1/jobs/{job.pk}/items/{waiting}/history")
    assert "not answered within its lifetime" in history.content.decode()


def test_the_long_poll_answers_as_soon_as_a_result_is_there(manager, labeler, make_stream_job):
    job = make_stream_job()
    post_item(manager, job, "k", "soon labeled")
    client = client_for(manager)

    def label_later() -> None:
        time.sleep(1.0)
        try:
            answer(job, labeler, "bird")
        finally:
            connection.close()  # the thread's own

    thread = threading.Thread(target=label_later)
    started = time.monotonic()
    thread.start()
    page = read_feed(client, job, wait=20)
    waited = time.monotonic() - started
    thread.join()
    assert [e["clientKey"] for e in page["results"]] == ["k"]
    assert 0.8 < waited < 10, waited
    # With nothing to come, it waits the time asked and answers an empty page.
    started = time.monotonic()
    empty = read_feed(client, job, page["cursor"], wait=1)
    assert empty["results"] == [] and empty["cursor"] == page["cursor"]
    assert time.monotonic() - started >= 0.9


def test_the_webhook_is_signed_in_order_per_item_and_retried(
    manager, labeler, make_stream_job, webhook_receiver, settings
):
    settings.QUORUM_WEBHOOK_MAX_ATTEMPTS = 3
    settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS = 0.01
    job = make_stream_job(webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    job_review_configure(job=job, mode="all")
    item_id = post_item(manager, job, "k-1", "a cat")
    answer(job, labeler, "cat")
    review_fix(job=job, item_id=item_id, reviewer=manager, answer={"label": "bird"})
    verified = webhook_receiver.verified(SECRET)
    assert len(verified) == len(webhook_receiver.received) == 2
    assert [hit["body"]["event"] for hit in verified] == ["item.consolidated", "item.relabeled"]
    assert [hit["event"] for hit in verified] == ["item.consolidated", "item.relabeled"]
    assert verified[0]["body"]["clientKey"] == "k-1"
    feed = read_feed(client_for(manager), job)["results"]
    assert [hit["body"] for hit in verified] == feed  # the webhook sends the feed's events
    # A receiver that fails twice gets the third attempt; every attempt is recorded.
    webhook_receiver.status = 500
    webhook_receiver.on_hit = lambda number: setattr(
        webhook_receiver, "status", 500 if number < 5 else 200
    )
    post_item(manager, job, "k-2", "a dog")
    answer(job, labeler, "dog")
    event = StreamEvent.objects.get(job=job, item__stream_item__client_key="k-2")
    assert event.delivery_status == "succeeded" and event.attempts == 3
    attempts = list(StreamDeliveryAttempt.objects.filter(event=event).order_by("number"))
    assert [a.response_code for a in attempts] == [500, 500, 200]
    assert all(a.finished_at for a in attempts)
    assert len(webhook_receiver.received) == 5
    assert json.loads(webhook_receiver.received[-1]["raw"])["clientKey"] == "k-2"
