"""The fault harness's answer checks classify each submit by what the database holds.

A failed submit (5xx, dropped, refused) counts as stored only if its lease's answer is in the
database and no other attempt on that lease was acknowledged; items over N are counted from
the answers themselves. Runs on PostgreSQL: the checks read it with psycopg, as in a fault run.
"""

import psycopg
import pytest
from django.db import connection

from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from tests.conftest import using_postgres
from tests.faults.checks import answer_checks
from tests.faults.labelers import Submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def _psycopg() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db.get("PASSWORD") or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


def _submit(worker, assignment, outcome: str, status: int | None, code: str = "") -> Submit:
    return Submit(worker.username, assignment.pk, assignment.item_id, outcome, status, code, 0.0)


def test_answer_checks_tell_stored_failures_from_unstored_ones(make_job, make_labeler):
    if not using_postgres():
        pytest.skip("the harness reads PostgreSQL with psycopg: runs in the services pass")
    job = make_job(items=5, workers_per_item=1)
    a, b, c, d, e = (make_labeler(name) for name in ("ann", "bob", "cid", "dan", "eve"))
    leases = {worker: assignment_claim(job=job, worker=worker) for worker in (a, b, c, d, e)}
    for worker in (a, b, c, e):  # stored; d's lease stays open (its answer never arrived)
        annotation_submit(assignment_id=leases[worker].pk, worker=worker, answer={"label": "cat"})
    submits = [
        _submit(a, leases[a], "acknowledged", 201),
        _submit(b, leases[b], "5xx", 500, "server_error"),  # stored, told 500: the lie
        _submit(c, leases[c], "dropped", None, "RemoteDisconnected"),  # stored, counted apart
        _submit(c, leases[c], "refused", 409, "lease_closed"),  # the retry of c's answer
        _submit(d, leases[d], "5xx", 500, "server_error"),  # not stored: allowed
        _submit(d, leases[d], "acknowledged", 201),  # told stored, but is not: the worst
        _submit(e, leases[e], "5xx", 500, "server_error"),  # not stored: its retry stored it
        _submit(e, leases[e], "acknowledged", 201),
    ]
    with _psycopg() as conn:
        checks = answer_checks(conn, job.pk, 1, submits)
        over_one = answer_checks(conn, job.pk, 0, [])["items_over_n"]

    assert checks["submits"] == 8
    assert checks["stored"] == 4
    assert checks["acknowledged"] == 3
    assert checks["acknowledged_not_stored"] == 1  # d
    assert checks["stored_but_5xx"] == 1  # b; not d (nothing stored), not e (its retry stored)
    assert checks["stored_after_dropped"] == 1  # c
    assert checks["stored_but_refused"] == 0  # c's refusal followed a dropped, stored answer
    assert checks["items_over_n"] == 0
    assert checks["double_answers"] == 0
    assert checks["item_counter_mismatch"] == 0
    assert over_one == 4  # four items have more answers than 0
