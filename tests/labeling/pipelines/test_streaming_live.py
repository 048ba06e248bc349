"""A streaming job fed while labelers work: a thread posts items through the API while three
labelers claim and submit through it; every result reaches the feed and the signed webhook,
complete and in order per item (a relabel after the result it replaces)."""

import threading
import time
from collections import defaultdict

import pytest
from django.db import connection

from labeling.models import Item, StreamEvent
from labeling.pipelines.services.stream_events import cursor_decode
from labeling.review.services.reviews import job_review_configure, review_fix
from labeling.states import ItemStatus
from tests.conftest import client_for
from tests.labeling.pipelines.conftest import SECRET

ITEMS = 60
BATCH = 5
LABELERS = 3
RUN_SECONDS = 60
LABELS = ("cat", "dog", "bird")


@pytest.mark.django_db(transaction=True)
def test_results_of_a_fed_job_reach_feed_and_webhook_complete_and_in_order(
    manager, make_labeler, make_stream_job, webhook_receiver
):
    job = make_stream_job(webhook_url=webhook_receiver.url, webhook_secret=SECRET)
    job_review_configure(job=job, mode="all")
    labelers = [make_labeler(f"s{i}") for i in range(LABELERS)]
    manager_client = client_for(manager)
    labeler_clients = [client_for(worker) for worker in labelers]
    failures: list[BaseException] = []
    feeding_done = threading.Event()
    deadline = time.monotonic() + RUN_SECONDS
    empty_claims = defaultdict(int)

    def feeder() -> None:
        try:
            for start in range(0, ITEMS, BATCH):
                batch = [
                    {"clientKey": f"k{n}", "source": f"object {n}"}
                    for n in range(start, start + BATCH)
                ]
                answer = manager_client.post(f"/api/v1/jobs/{job.pk}/items", batch, format="json")
                assert answer.status_code == 201, answer.content
                # Sent again (a client retrying): nothing added twice.
                again = manager_client.post(f"/api/v1/jobs/{job.pk}/items", batch, format="json")
                assert again.status_code == 200, again.content
                time.sleep(0.05)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            feeding_done.set()
            connection.close()

    def labeler_loop(index: int) -> None:
        client = labeler_clients[index]
        try:
            while time.monotonic() < deadline:
                lease = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
                if lease.status_code == 204:
                    assert lease.has_header("Retry-After")
                    empty_claims[index] += 1
                    if (
                        feeding_done.is_set()
                        and not Item.objects.filter(job=job, status=ItemStatus.OPEN).exists()
                    ):
                        return
                    time.sleep(0.05)  # (the page waits Retry-After; the test asks sooner)
                    continue
                assert lease.status_code == 200, lease.content
                data = lease.json()
                label = LABELS[data["item"]["id"] % len(LABELS)]
                submitted = client.post(
                    f"/api/v1/assignments/{data['assignment_id']}/submit",
                    {"answer": {"label": label}},
                    format="json",
                )
                assert submitted.status_code == 201, submitted.content
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=feeder)] + [
        threading.Thread(target=labeler_loop, args=(i,)) for i in range(LABELERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    items = list(Item.objects.filter(job=job).order_by("id"))
    assert len(items) == ITEMS and all(item.status == ItemStatus.LABELED for item in items)
    # A reviewer relabels every fourth item: a new event after its first.
    relabeled = items[::4]
    for item in relabeled:  # to a label other than the one its labeler gave
        other = LABELS[(item.pk + 1) % len(LABELS)]
        review_fix(job=job, item_id=item.pk, reviewer=manager, answer={"label": other})

    feed, cursor = [], ""
    while True:
        query = f"?after={cursor}&limit=7" if cursor else "?limit=7"
        page = manager_client.get(f"/api/v1/jobs/{job.pk}/results{query}").json()
        if not page["results"]:
            break
        feed.extend(page["results"])
        cursor = page["cursor"]
    seqs = [cursor_decode(event["cursor"]) for event in feed]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(feed) == ITEMS + len(relabeled)

    def per_item(events: list[dict]) -> dict[int, list[str]]:
        kinds: dict[int, list[str]] = defaultdict(list)
        for event in events:
            kinds[event["itemId"]].append(event["event"])
        return kinds

    expected = {
        item.pk: ["item.consolidated"] + (["item.relabeled"] if item in relabeled else [])
        for item in items
    }
    assert per_item(feed) == expected
    keys = {event["itemId"]: event["clientKey"] for event in feed}
    assert keys == {item.pk: f"k{item.data.split()[-1][:-2]}" for item in items}

    hits = webhook_receiver.verified(SECRET)
    assert len(hits) == len(webhook_receiver.received) == len(feed)
    assert per_item([hit["body"] for hit in hits]) == expected
    assert {hit["body"]["cursor"] for hit in hits} == {event["cursor"] for event in feed}
    assert not StreamEvent.objects.filter(job=job).exclude(delivery_status="succeeded").exists()
