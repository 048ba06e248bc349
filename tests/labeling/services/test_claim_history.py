"""Issue 14 point 7 and issue 20: a claim's cost does not grow with the worker's history, and
the claim's hot path keeps items updatable in place.

A worker who has answered many items that still wait for other workers' answers used to have
every claim walk past all of them. The claim now looks at the first CLAIM_WINDOW items of the
queue, then carries on from the worker's cursor, and walks from the head only when nothing is
left after it (docs/claiming.md).
"""

import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from labeling.models import Annotation, Assignment, ClaimCursor, Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import (
    _AFTER_CURSOR_LOWER_PRIORITY,
    _AFTER_CURSOR_SAME_PRIORITY,
    _QUEUE_HEAD,
    _WINDOW_HEAD,
    CLAIM_WINDOW,
    assignment_claim,
    assignment_release,
)
from labeling.states import AssignmentStatus

pytestmark = pytest.mark.django_db

HISTORY = CLAIM_WINDOW * 3


def _answer_first_items(job, worker, count: int) -> list[int]:
    """``worker`` answers the first ``count`` items of the queue, as a submit leaves them (one
    answer of the job's N: every item stays open), written in bulk to keep the test fast."""
    items = list(
        Item.objects.filter(job=job).order_by("-priority", "id").values_list("pk", flat=True)
    )[:count]
    now = timezone.now()
    leases = Assignment.objects.bulk_create(
        Assignment(job=job, item_id=pk, worker=worker, status=AssignmentStatus.SUBMITTED,
                   leased_at=now, expires_at=now, finished_at=now)
        for pk in items
    )  # fmt: skip
    Annotation.objects.bulk_create(
        Annotation(assignment=lease, job=job, item_id=lease.item_id, worker=worker,
                   answer={"label": "cat"}, label="cat", accepted_at=now, submitted_at=now,
                   time_spent_seconds=1.0)
        for lease in leases
    )  # fmt: skip
    Item.objects.filter(pk__in=items).update(taken=1, answers=1)
    return items


def _claim_and_answer(job, worker) -> int:
    lease = assignment_claim(job=job, worker=worker)
    annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    return lease.item_id


def test_a_worker_with_a_long_history_gets_the_next_item_in_order(make_job, make_labeler):
    job = make_job(items=HISTORY + 5, workers_per_item=3)
    worker = make_labeler("veteran")
    order = list(Item.objects.filter(job=job).order_by("id").values_list("pk", flat=True))
    answered = _answer_first_items(job, worker, HISTORY)
    # No cursor yet (the history came in bulk): the walk from the head finds the next item...
    assert _claim_and_answer(job, worker) == order[HISTORY]
    assert ClaimCursor.objects.get(job=job, worker=worker).item_id == order[HISTORY]
    # ...and from then on the cursor does, in queue order, never an item answered before.
    claimed = [_claim_and_answer(job, worker) for _ in range(4)]
    assert claimed == order[HISTORY + 1 : HISTORY + 5]
    assert not set(claimed) & set(answered)
    assert assignment_claim(job=job, worker=worker) is None
    # Other workers still start at the head of the queue.
    other = make_labeler("newcomer")
    assert assignment_claim(job=job, worker=other).item_id == order[0]


def test_the_cursor_follows_a_lower_priority_and_only_moves_forward(make_job, make_labeler):
    job = make_job(items=HISTORY + 3, workers_per_item=3)
    order = list(Item.objects.filter(job=job).order_by("id").values_list("pk", flat=True))
    # The last three items come first in the queue, at a higher priority.
    Item.objects.filter(pk__in=order[-3:]).update(priority=5)
    worker = make_labeler("veteran")
    _answer_first_items(job, worker, CLAIM_WINDOW)  # the three urgent ones and 61 more
    first = _claim_and_answer(job, worker)
    assert first == order[CLAIM_WINDOW - 3]
    place = ClaimCursor.objects.get(job=job, worker=worker)
    assert (place.priority, place.item_id) == (0, first)
    # An urgent item at the head is free for the worker again (their lease on it ended
    # without an answer): the window hands it out, and the cursor stays where it was.
    Assignment.objects.filter(item_id=order[-1], worker=worker).update(
        status=AssignmentStatus.RELEASED
    )
    Annotation.objects.filter(item_id=order[-1], worker=worker).delete()
    Item.objects.filter(pk=order[-1]).update(taken=0, answers=0)
    assert _claim_and_answer(job, worker) == order[-1]
    assert ClaimCursor.objects.get(job=job, worker=worker).item_id == first
    assert _claim_and_answer(job, worker) == order[CLAIM_WINDOW - 2]


def test_an_item_freed_behind_the_cursor_is_not_left_behind(make_job, make_labeler):
    # Two workers per item. The veteran answers the head of the queue; one item beyond the
    # window was full (two other leases) when the veteran passed it, and frees up later.
    job = make_job(items=HISTORY + 2, workers_per_item=2, max_concurrent_tasks_per_worker=1)
    order = list(Item.objects.filter(job=job).order_by("id").values_list("pk", flat=True))
    behind = order[HISTORY - 10]
    holders = [make_labeler("h1"), make_labeler("h2")]
    now = timezone.now()
    for holder in holders:
        Assignment.objects.create(job=job, item_id=behind, worker=holder, leased_at=now,
                                  expires_at=now + timedelta(minutes=5))  # fmt: skip
    Item.objects.filter(pk=behind).update(taken=2)
    worker = make_labeler("veteran")
    answered = _answer_first_items(job, worker, HISTORY - 10)
    claimed = [_claim_and_answer(job, worker) for _ in range(HISTORY + 1 - len(answered))]
    assert behind not in claimed
    lease = Assignment.objects.get(item_id=behind, worker=holders[0])
    assignment_release(assignment_id=lease.pk, worker=holders[0])
    # Nothing is left after the cursor: the walk from the head finds the freed item.
    assert _claim_and_answer(job, worker) == behind
    assert assignment_claim(job=job, worker=worker) is None
    assert set(claimed) | {behind} | set(answered) == set(order)


def _queue_rows_read(statement: str, params: dict) -> int:
    """Rows the item table's index scans produce for ``statement`` (EXPLAIN ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        (plan,) = cursor.fetchone()
    plan = plan if isinstance(plan, list) else json.loads(plan)

    def rows(node: dict) -> int:
        own = 0
        if node.get("Relation Name") == "labeling_item":
            own = node["Actual Rows"] * node["Actual Loops"] + node.get("Rows Removed by Filter", 0)
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan[0]["Plan"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statements of PostgreSQL")
def test_the_claim_reads_a_bounded_part_of_the_queue_whatever_the_history(make_job, make_labeler):
    job = make_job(items=HISTORY * 2, workers_per_item=3)
    worker = make_labeler("veteran")
    answered = _answer_first_items(job, worker, HISTORY)
    _claim_and_answer(job, worker)  # sets the cursor
    place = ClaimCursor.objects.get(job=job, worker=worker)
    params = {"job": job.pk, "worker": worker.pk, "new_items": True, "slots": 3,
              "cursor_priority": place.priority, "cursor_item": place.item_id,
              "now": timezone.now(), "max_leases": 1}  # fmt: skip
    with transaction.atomic():
        with connection.cursor() as cursor:  # plan as on a big table: by the queue's index
            cursor.execute("ANALYZE labeling_item")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        walk = _queue_rows_read(_QUEUE_HEAD, params)
        window = _queue_rows_read(_WINDOW_HEAD, params)
        after = _queue_rows_read(_AFTER_CURSOR_SAME_PRIORITY, params)
        lower = _queue_rows_read(_AFTER_CURSOR_LOWER_PRIORITY, params)
        transaction.set_rollback(True)
    assert walk > len(answered)  # what every claim of this worker used to read
    assert window <= 3 * CLAIM_WINDOW  # the window's index entries and their rows
    assert after <= 2 and lower <= 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's settings")
def test_the_item_table_keeps_room_for_in_place_updates(db):
    """Claims change ``taken``, submits ``answers``, adaptive overlap ``extra_slots``: an index
    on any of them would turn every one of those updates into a non-HOT one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = 'labeling_item'::regclass"
        )
        definitions = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'labeling_item'")
        (options,) = cursor.fetchone()
    for definition in definitions:
        for column in ("taken", "answers", "extra_slots"):
            assert column not in definition, definition
    assert "fillfactor=70" in (options or [])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's settings")
@pytest.mark.django_db(transaction=True)
def test_only_the_claim_commits_without_waiting_for_the_wal_flush(make_job, make_labeler):
    job = make_job(items=2, workers_per_item=1)
    worker = make_labeler("w1")

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    with transaction.atomic():
        lease = assignment_claim(job=job, worker=worker)
        assert setting() == "off"  # local to the claim's transaction
    assert setting() == "on"
    with transaction.atomic():
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
        assert setting() == "on"  # an answer is flushed before it is acknowledged
