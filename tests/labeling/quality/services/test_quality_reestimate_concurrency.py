"""While a re-estimation runs, every reader sees the previous estimates until it commits."""

import threading

import pytest
from django.db import connection, connections, transaction

from labeling.models import (
    ConsolidatedLabel,
    ConsolidationMethod,
    Job,
    JobQualityEstimate,
    WorkerQuality,
)
from labeling.quality.services.reliability import job_quality_configure, job_quality_reestimate
from tests.conftest import using_postgres
from tests.labeling.quality.services.test_quality import LABELS, work_until_done

WAIT_ROUNDS = 2000


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction the activity view is a snapshot taken once: take a new one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_readers_see_the_previous_estimates_until_the_new_ones_commit(make_job, make_labeler):
    if not using_postgres():
        pytest.skip("needs PostgreSQL (DATABASE_URL): two transactions at once")
    job = make_job(items=30, workers_per_item=3, labels=LABELS)
    kinds = ("good", "good", "spammer", "confuser")
    work_until_done(job, {make_labeler(f"k{i}"): kind for i, kind in enumerate(kinds)})
    job_quality_configure(job=job, consolidation_method=ConsolidationMethod.MAJORITY)
    job_quality_reestimate(job_id=job.pk)
    before = dict(WorkerQuality.objects.filter(job=job).values_list("worker_id", "estimated_at"))
    # No request for a run (the test runs it): the method changes under the stored estimates.
    Job.objects.filter(pk=job.pk).update(consolidation_method=ConsolidationMethod.DAWID_SKENE)

    failures: list[BaseException] = []

    def rerun() -> None:
        try:
            job_quality_reestimate(job_id=job.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            connections.close_all()

    labels_before = dict(ConsolidatedLabel.objects.filter(job=job).values_list("id", "method"))
    with transaction.atomic():
        # Hold one worker's row: the re-estimation computes everything, rewrites the labels
        # and the job's estimate in its transaction, then waits to write the worker rows.
        WorkerQuality.objects.select_for_update().filter(job=job).order_by("id").first()
        runner = threading.Thread(target=rerun)
        runner.start()
        for _ in range(WAIT_ROUNDS):
            if _waiting_on_a_lock():
                break
            runner.join(0.01)
        assert _waiting_on_a_lock()
        # Meanwhile every reader sees the previous estimates and labels.
        assert JobQualityEstimate.objects.get(job=job).method_in_use == "majority"
        stamps = dict(
            WorkerQuality.objects.filter(job=job).values_list("worker_id", "estimated_at")
        )
        assert stamps == before
        now = dict(ConsolidatedLabel.objects.filter(job=job).values_list("id", "method"))
        assert now == labels_before
    runner.join()
    assert not failures
    after = dict(WorkerQuality.objects.filter(job=job).values_list("worker_id", "estimated_at"))
    assert all(after[worker] > stamp for worker, stamp in before.items())
    assert JobQualityEstimate.objects.get(job=job).method_in_use == ConsolidationMethod.DAWID_SKENE
    assert set(ConsolidatedLabel.objects.filter(job=job).values_list("method", flat=True)) == {
        ConsolidationMethod.DAWID_SKENE
    }
