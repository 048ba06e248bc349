"""Imports whose worker was lost: the sweeper runs them again, or fails them with the reason."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labeling.data.services.import_leases import LeaseLost, import_lease_claim
from labeling.data.services.import_lifecycle import imports_sweep
from labeling.data.services.imports import (
    _run_manifest,
    import_run,
    import_stage_manifest,
)
from labeling.models import ImportRun, Item
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LINES = 30


def _staged(job, manager) -> ImportRun:
    body = "".join(json.dumps({"source": f"line {i}"}) + "\n" for i in range(LINES)).encode()
    return import_stage_manifest(job=job, created_by=manager, chunks=[body])


def _worker_lost_while_storing(run: ImportRun):
    """What a worker killed while storing leaves: running, its lease out of date, nothing
    stored (its transaction died with it)."""
    lease = import_lease_claim(import_id=run.pk)
    lease.enter_phase("storing")
    ImportRun.objects.filter(pk=run.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    return lease


def test_a_run_whose_worker_was_lost_is_run_again_and_stores_each_item_once(make_job, manager):
    job = make_job(items=0, start=False)
    run = _staged(job, manager)
    _worker_lost_while_storing(run)
    assert imports_sweep() == {"rerun": 1, "failed": 0, "resent": 0}
    run.refresh_from_db()
    assert run.status == "queued"
    assert "lost while storing (attempt 1 of 3)" in run.message
    assert imports_sweep() == {"rerun": 0, "failed": 0, "resent": 0}  # not due yet

    run = import_run(import_id=run.pk)
    assert run.status == "succeeded", run.message
    assert run.attempts == 2 and run.items_created == LINES
    assert "attempt 2" in run.message
    assert Item.objects.filter(job=job).count() == LINES
    job.refresh_from_db()
    assert job.items_total == LINES


def test_a_run_that_keeps_losing_its_worker_fails_with_the_reason(make_job, manager):
    job = make_job(items=0, start=False)
    run = _staged(job, manager)
    for attempt in (1, 2, 3):
        _worker_lost_while_storing(run)
        expected = "failed" if attempt == 3 else "rerun"
        assert imports_sweep()[expected] == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.attempts == 3
    assert run.message.startswith("the worker was lost 3 time(s), the last while storing")
    assert run.finished_at is not None and not run.lease_token
    assert not Item.objects.filter(job=job).exists()
    # The import status endpoint shows why.
    body = client_for(manager).get(f"/api/v1/imports/{run.pk}").json()
    assert body["status"] == "failed" and body["attempts"] == 3
    assert "lost 3 time(s)" in body["message"]
    # So does the console's job page.
    console = Client()
    console.force_login(manager)
    page = console.get(f"/console/jobs/{job.pk}/").content.decode()
    assert "the worker was lost 3 time(s), the last while storing" in page
    # A message the broker redelivers later changes nothing.
    assert import_run(import_id=run.pk).status == "failed"


def test_a_redelivered_message_of_a_lost_run_runs_it_again(make_job, manager):
    job = make_job(items=0, start=False)
    run = _staged(job, manager)
    _worker_lost_while_storing(run)
    run = import_run(import_id=run.pk)  # Redis gives the unacked message back: no sweep
    assert run.status == "succeeded" and run.attempts == 2
    assert Item.objects.filter(job=job).count() == LINES


def test_a_worker_whose_lease_was_taken_over_stores_nothing(make_job, manager):
    job = make_job(items=0, start=False)
    run = _staged(job, manager)
    slow = _worker_lost_while_storing(run)  # alive after all, but too late
    imports_sweep()
    again = import_lease_claim(import_id=run.pk)
    assert again is not None and again.token != slow.token
    run = ImportRun.objects.select_related("job").get(pk=run.pk)
    with pytest.raises(LeaseLost):
        _run_manifest(run, slow)
    assert not Item.objects.filter(job=job).exists()


def test_a_queued_run_whose_message_was_lost_is_sent_again(make_job, manager, settings):
    job = make_job(items=0, start=False)
    run = _staged(job, manager)  # its message was never delivered (on_commit in a test)
    later = timezone.now() + timedelta(seconds=settings.QUORUM_IMPORT_RESEND_AFTER_SECONDS + 1)
    assert imports_sweep(now=later) == {"rerun": 0, "failed": 0, "resent": 1}
    run.refresh_from_db()
    assert run.status == "queued" and run.lease_expires_at > later
