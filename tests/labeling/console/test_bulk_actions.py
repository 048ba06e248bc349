"""Bulk actions of the data manager: each kind, on picked rows and on all that match, run by
Celery (eagerly here), idempotent, refused where the job's state or the caller forbids."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from labeling.console.services import bulk
from labeling.models import BulkAction, ConsolidatedLabel, GoldItem, Item, JobCounter
from labeling.selectors import job_progress
from tests.conftest import client_for
from tests.labeling.console.helpers import answer_next

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(make_labeler):
    return [make_labeler(name) for name in ("ann", "bob", "cyd", "dan")]


@pytest.fixture
def job(make_job, crowd):
    """Eight items; the first four labeled by ann, bob and cyd (cat, cat, dog, bird)."""
    job = make_job(items=8, workers_per_item=3)
    for label in ("cat", "cat", "dog", "bird"):
        for worker in crowd[:3]:
            answer_next(job, worker, label)
    return job


def _ids(job):
    return list(Item.objects.filter(job=job).order_by("id").values_list("id", flat=True))


@pytest.fixture(autouse=True)
def _after_commit(request):
    """Run the after-commit enqueue (Celery is eager) inside each test's transaction."""
    capture = request.getfixturevalue("django_capture_on_commit_callbacks")
    _after_commit.capture = capture


def _start(client, job, kind, selection, **params):
    with _after_commit.capture(execute=True):
        response = client.post(
            f"/api/v1/jobs/{job.pk}/bulk-actions",
            {"kind": kind, "selection": selection, "params": params},
            format="json",
        )
    if response.status_code == 202:  # the state after the run, as the page polls it
        return client.get(f"/api/v1/jobs/{job.pk}/bulk-actions/{response.json()['id']}")
    return response


def test_priority_on_all_that_match_a_filter(manager_client, job):
    response = _start(manager_client, job, "priority", {"filters": {"label": "cat"}}, priority=9)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded" and body["total"] == 2 and body["done"] == 2
    assert body["fraction"] == 1.0
    ids = _ids(job)
    priorities = dict(Item.objects.filter(job=job).values_list("id", "priority"))
    assert [priorities[i] for i in ids] == [9, 9, 0, 0, 0, 0, 0, 0]
    polled = manager_client.get(f"/api/v1/jobs/{job.pk}/bulk-actions/{body['id']}").json()
    assert polled["status"] == "succeeded"


def test_priority_rewrites_only_the_rows_that_differ(manager_client, job):
    """Rows already at the priority are counted as done, not skipped, and not rewritten."""
    ids = _ids(job)
    Item.objects.filter(pk__in=ids[:3]).update(priority=4)
    before = _row_versions(ids[:3])
    body = _start(manager_client, job, "priority", {"ids": ids[:6]}, priority=4).json()
    assert body["status"] == "succeeded" and body["done"] == 6 and body["skipped"] == 0
    priorities = dict(Item.objects.filter(job=job).values_list("id", "priority"))
    assert [priorities[i] for i in ids] == [4, 4, 4, 4, 4, 4, 0, 0]
    assert _row_versions(ids[:3]) == before


def _row_versions(ids):
    """PostgreSQL's row versions (xmin) of the items: the same when a row was not rewritten;
    None on SQLite, which has none."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, xmin::text FROM labeling_item WHERE id = ANY(%s) ORDER BY id", [ids]
        )
        return cursor.fetchall()


def test_send_to_review_marks_picked_rows(manager_client, job):
    ids = _ids(job)
    response = _start(manager_client, job, "review", {"ids": [ids[1], ids[5]]})
    assert response.json()["done"] == 2
    marked = list(Item.objects.filter(job=job, review_requested=True).values_list("id", flat=True))
    assert sorted(marked) == [ids[1], ids[5]]
    listed = manager_client.get(f"/api/v1/jobs/{job.pk}/items", {"review_requested": "yes"})
    assert [row["id"] for row in listed.json()["results"]] == [ids[1], ids[5]]


def test_sent_items_reach_the_review_queue_now_or_when_consolidated(manager_client, job, crowd):
    """A labeled item joins the review stage's queue at once; an open one when it is labeled,
    whatever the job's own review stage says (none here)."""
    ids = _ids(job)
    _start(manager_client, job, "review", {"ids": [ids[1], ids[5]]})
    assert ConsolidatedLabel.objects.get(item_id=ids[1]).review_status == "pending"
    assert ConsolidatedLabel.objects.get(item_id=ids[0]).review_status == ""
    for worker in crowd[:3]:
        while answer_next(job, worker, "cat") != ids[5]:
            pass
    assert ConsolidatedLabel.objects.get(item_id=ids[5]).review_status == "pending"
    assert ConsolidatedLabel.objects.get(item_id=ids[4]).review_status == ""
    reviewed = manager_client.get(f"/api/v1/jobs/{job.pk}/items", {"reviewed": "yes"})
    assert reviewed.json()["results"] == []


def test_more_answers_reopens_a_labeled_item_for_one_more_worker(manager_client, job, crowd):
    first = _ids(job)[0]
    labeled_before = job_progress(job_id=job.pk).items_labeled
    response = _start(manager_client, job, "more_answers", {"ids": [first]})
    assert response.json()["done"] == 1
    item = Item.objects.get(pk=first)
    assert item.status == "open" and item.extra_slots == 1
    assert not ConsolidatedLabel.objects.filter(item_id=first).exists()
    assert job_progress(job_id=job.pk).items_labeled == labeled_before - 1
    # The fourth worker gets it (the only item with a free slot they have not answered first
    # in queue order) and their answer labels it again, now from four answers.
    assert answer_next(job, crowd[3], "dog") == first
    consolidated = ConsolidatedLabel.objects.get(item_id=first)
    assert consolidated.answers_count == 4 and consolidated.label == "cat"
    assert job_progress(job_id=job.pk).items_labeled == labeled_before


def test_gold_and_ungold(manager_client, job):
    ids = _ids(job)
    response = _start(manager_client, job, "gold", {"ids": ids[:2] + [ids[6]]})
    body = response.json()
    assert body["done"] == 3 and body["skipped"] == 1  # item 7 has no label to know
    assert dict(GoldItem.objects.filter(job=job).values_list("item_id", "label")) == {
        ids[0]: "cat",
        ids[1]: "cat",
    }
    assert ConsolidatedLabel.objects.get(item_id=ids[0]).method == "gold"
    _start(manager_client, job, "ungold", {"filters": {"gold": "yes"}})
    assert not GoldItem.objects.filter(job=job).exists()


def test_export_of_a_selection_holds_only_its_items(manager_client, job):
    response = _start(manager_client, job, "export", {"filters": {"label": "cat"}}, format="csv")
    body = response.json()
    assert body["status"] == "succeeded" and body["download_url"]
    download = manager_client.get(body["download_url"])
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and {row["label"] for row in rows} == {"cat"}
    path = Path(settings.MEDIA_ROOT) / BulkAction.objects.get(pk=body["id"]).result_path
    assert path.is_file()
    refused = _start(manager_client, job, "export", {"ids": [_ids(job)[0]]}, format="coco")
    assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "format"


def test_delete_only_in_a_draft_job(manager_client, job, make_job):
    refused = _start(manager_client, job, "delete", {"ids": [_ids(job)[0]]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "job_state"
    assert Item.objects.filter(job=job).count() == 8
    draft = make_job(items=5, start=False)
    response = _start(manager_client, draft, "delete", {"filters": {"q": "text 1"}})
    assert response.json()["done"] == 1
    draft.refresh_from_db()
    assert Item.objects.filter(job=draft).count() == 4 and draft.items_total == 4


def test_bad_requests_and_permissions(manager_client, job, crowd):
    ids = _ids(job)
    cases = [
        ({"kind": "explode", "selection": {"ids": ids}}, 400),
        ({"kind": "review", "selection": {"ids": []}}, 400),
        ({"kind": "review", "selection": {"ids": ids, "filters": {}}}, 400),
        ({"kind": "review", "selection": {"filters": {"status": "maybe"}}}, 400),
        ({"kind": "priority", "selection": {"ids": ids}, "params": {"priority": "high"}}, 400),
        ({"kind": "review", "selection": {"ids": list(range(1, 1500))}}, 400),
        ({"kind": "review", "selection": {"ids": [10**9]}}, 400),
    ]
    for payload, status in cases:
        response = manager_client.post(
            f"/api/v1/jobs/{job.pk}/bulk-actions", payload, format="json"
        )
        assert response.status_code == status, (payload, response.content)
        assert set(response.json()["error"]) == {"code", "message", "details"}
    labeler = client_for(crowd[0])
    assert _start(labeler, job, "review", {"ids": ids}).status_code == 403
    assert labeler.get(f"/api/v1/jobs/{job.pk}/bulk-actions").status_code == 403
    assert not Item.objects.filter(job=job, review_requested=True).exists()
    assert not BulkAction.objects.exists()


class _WorkerLost(BaseException):
    """A worker killed mid-run: not an Exception, so the run is left as it was."""


def test_a_run_started_again_continues_after_the_last_committed_batch(manager, job, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    monkeypatch.setattr(bulk, "on_commit_safely", lambda work, what: None)  # we run it here
    action = bulk.bulk_action_start(
        job=job, by=manager, kind="more_answers", selection={"filters": {}}, params={}
    )
    original = bulk._APPLY["more_answers"]
    calls = []

    def dies_on_second_batch(job_, ids, params):
        calls.append(ids)
        if len(calls) == 2:
            raise _WorkerLost
        return original(job_, ids, params)

    monkeypatch.setitem(bulk._APPLY, "more_answers", dies_on_second_batch)
    with pytest.raises(_WorkerLost):
        bulk.bulk_action_run(action_id=action.pk)
    action.refresh_from_db()
    assert action.status == "running" and action.done == 3
    monkeypatch.setitem(bulk._APPLY, "more_answers", original)
    bulk.bulk_action_run(action_id=action.pk)
    again = bulk.bulk_action_run(action_id=action.pk)  # a message delivered twice
    assert again.status == "succeeded" and again.done == 8
    assert set(Item.objects.filter(job=job).values_list("extra_slots", flat=True)) == {1}
    assert sum(JobCounter.objects.filter(job=job).values_list("items_labeled", flat=True)) == 0
