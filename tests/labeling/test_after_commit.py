"""After-commit work never fails the write it follows (issue 12, house style 18).

A receiver of a domain event or an enqueue that raises after the submit's commit (the database
restarting under it, Redis down) is logged and left to the sweeps; the submit is a 201 and
the other receivers still run.
"""

import logging

import pytest
from django.db import OperationalError

from labeling.after_commit import on_commit_safely
from labeling.events import item_consolidated
from labeling.models import Annotation, ConsolidatedLabel
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receivers():
    calls = []

    def failing(sender, **payload):
        raise OperationalError("server closed the connection unexpectedly")

    def working(sender, **payload):
        calls.append(payload["item_id"])

    item_consolidated.connect(failing, dispatch_uid="test-failing")
    item_consolidated.connect(working, dispatch_uid="test-working")
    yield calls
    item_consolidated.disconnect(dispatch_uid="test-failing")
    item_consolidated.disconnect(dispatch_uid="test-working")


def test_a_failing_receiver_after_the_commit_leaves_the_submit_a_201(
    make_job, labeler, receivers, caplog
):
    job = make_job(items=1)
    client = client_for(labeler)
    lease = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
    with caplog.at_level(logging.WARNING):
        submitted = client.post(
            f"/api/v1/assignments/{lease.data['assignment_id']}/submit",
            {"answer": {"label": "dog"}},
            format="json",
        )
    assert submitted.status_code == 201, submitted.content
    assert Annotation.objects.filter(job=job).count() == 1
    label = ConsolidatedLabel.objects.get(job=job)
    assert receivers == [label.item_id]  # the receiver after the failing one still ran
    assert "the periodic sweep redoes its work" in caplog.text


def test_on_commit_safely_logs_a_failure_instead_of_raising(caplog):
    def enqueue():
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    ran = []
    with caplog.at_level(logging.WARNING):
        on_commit_safely(enqueue, what="enqueueing something")  # no transaction: runs now
        on_commit_safely(lambda: ran.append(1), what="something else")
    assert ran == [1]
    assert "enqueueing something failed after the commit" in caplog.text
