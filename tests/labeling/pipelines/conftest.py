"""Fixtures of the streaming tests: a streaming job, and the webhook receiver of the review-loop
tests (a local HTTP server on loopback, with loopback allowed for outbound requests)."""

import pytest

from labeling.pipelines.services.streaming import stream_configure
from labeling.services.jobs import job_create, job_start
from tests.workflows.conftest import (  # noqa: F401 - fixtures shared with the webhook tests
    Receiver,
    outbound_loopback_allowed,
    webhook_receiver,
)

SECRET = "stream-secret-1"


@pytest.fixture
def make_stream_job(db, manager, team):
    def make(*, start: bool = True, workers_per_item: int = 1, **settings):
        job = job_create(
            created_by=manager,
            name=f"stream-{make.counter}",
            task_type="text-classification",
            labels=["cat", "dog", "bird"],
            team=team,
            workers_per_item=workers_per_item,
        )
        make.counter += 1
        stream_configure(job=job, by=manager, **settings)
        job.refresh_from_db()
        if start:
            job_start(job=job, by=manager)
        return job

    make.counter = 1
    return make
