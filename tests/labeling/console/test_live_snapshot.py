"""The live snapshot: one computation per job per LIVE_SECONDS whoever watches, its cost the
same whatever the job's size, its figures moving with the answers."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.console import live
from tests.labeling.console.helpers import answer_next

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_many_viewers_share_one_computation(make_job, labeler, manager_client, monkeypatch):
    job = make_job(items=3)
    answer_next(job, labeler, "cat")
    first = live.job_live_snapshot(job=job)
    assert (first["answers_total"], first["items_labeled"], first["leases_active"]) == (1, 1, 0)
    assert first["recent_answers"][0]["worker"] == "lab1"
    # Twenty viewers polling within the window (its clock held there: the machine may be slow).
    monkeypatch.setattr(live.time, "time", lambda: first["computed_at"] + 1.0)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            body = manager_client.get(f"/api/v1/jobs/{job.pk}/live").json()
            assert body["computed_at"] == first["computed_at"]
    snapshot_queries = [q for q in queries if "labeling_annotation" in q["sql"]]
    assert snapshot_queries == []  # served from the cache: no viewer recomputed it

    answer_next(job, labeler, "dog")
    now = first["computed_at"] + live.LIVE_SECONDS + 0.1
    monkeypatch.setattr(live.time, "time", lambda: now)
    later = live.job_live_snapshot(job=job)
    assert later["answers_total"] == 2 and later["computed_at"] == now


def test_its_cost_does_not_grow_with_the_job(make_job, labeler):
    counts = []
    for size in (2, 40):
        job = make_job(items=size)
        answer_next(job, labeler, "cat")
        with CaptureQueriesContext(connection) as queries:
            live.job_live_snapshot(job=job)
        counts.append(len(queries))
    assert counts[0] == counts[1]
