"""Leasing items to workers: claim the next task, skip it, expire leases that ran out.

The claim is one locking statement on PostgreSQL: ``SELECT … FOR NO KEY UPDATE SKIP LOCKED`` picks
the first open item (in priority order) that has a free slot and that this worker does not
hold, has not answered and has not skipped; a guarded ``UPDATE … WHERE taken < N`` takes the
slot and the lease is inserted, all in one ``WITH`` statement. On SQLite every write
transaction begins IMMEDIATE, so claims run one at a time; the same steps run as ORM queries
and the guarded update keeps the counts right. See docs/claiming.md.
"""

from collections import Counter
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from labeling.errors import Conflict, LeaseClosed, NotAllowed
from labeling.models import Assignment, ClaimCursor, Item, Job, TeamMembership, User
from labeling.quality.services.gold import (
    GOLD_GATE_ITEM_FACTOR,
    GOLD_GATE_MODULUS,
    GOLD_GATE_WORKER_FACTOR,
    GOLD_MAX_TAKEN,
    gold_gate,
    worker_check_may_lease,
)
from labeling.quality.services.reliability import claim_slots
from labeling.services.claim_gates import claim_closed, claim_gate_probes
from labeling.states import (
    ASSIGNMENT_HOLDS_ITEM,
    AssignmentStatus,
    ItemStatus,
    JobStatus,
)

EXPIRY_BATCH_SIZE = 500


# PostgreSQL: pick, lock, take a slot of and lease the next item in one statement. SKIP
# LOCKED passes over rows another claim holds; the guarded UPDATE re-checks the free slot.
# NO KEY UPDATE, because the claim changes no key: a plain FOR UPDATE would also make the
# foreign-key checks (KEY SHARE) of submits that commit answers to the item wait on it.
# "Not held by this worker" is a scalar subquery, not NOT EXISTS, on purpose: PostgreSQL
# keeps it a per-row probe of the (item, worker) index along the head of the queue, whatever
# its statistics say, where NOT EXISTS may become a join over all of the worker's leases.
_NOT_HELD_BY_WORKER = """(SELECT 1 FROM labeling_assignment AS mine
           WHERE mine.item_id = item.id AND mine.worker_id = %(worker)s
             AND mine.status IN ('leased', 'submitted', 'skipped')
           LIMIT 1) IS NULL"""
_OPEN_FILTER = f"""item.status = 'open'
      AND item.taken < %(slots)s + item.extra_slots
      AND (%(new_items)s OR item.taken > 0)
      AND {_NOT_HELD_BY_WORKER}"""
_OPEN_HEAD = f"""
    FROM labeling_item AS item
    WHERE item.job_id = %(job)s AND {_OPEN_FILTER}
    ORDER BY item.priority DESC, item.id
    LIMIT 1
"""
_LOCK_HEAD = "    FOR NO KEY UPDATE OF item SKIP LOCKED\n"
_QUEUE_HEAD = "SELECT item.id, item.priority" + _OPEN_HEAD + _LOCK_HEAD
# Issue 14 point 7: the walk above passes every open item the worker has answered, so a
# worker with a long history paid for it on every claim. A job without gold therefore claims
# in up to three steps, each one locking statement of the same shape:
#  1. the first free item among the first CLAIM_WINDOW open items of the queue (where items
#     other workers started, or passed over under SKIP LOCKED, wait);
#  2. else the first free item after the worker's cursor (labeling_claimcursor: the furthest
#     place they leased), in two index ranges: the rest of the cursor's priority, then the
#     lower priorities;
#  3. else (a new worker, or nothing left after the cursor: the end of the job) the walk
#     from the head, as before.
# The cursor moves forward only, in the statement that takes the lease. An item between the
# window and the cursor that frees up again (a lease ran out) reaches the worker once the
# items before it are done, or at step 3; every other worker still finds it in order.
CLAIM_WINDOW = 64
# The worker's lease limit, checked by the window's statement itself (issue 20: one round
# trip less per claim). It runs after the worker's lock, so it sees the lease the previous
# holder of the lock committed; it is one probe of the worker's live leases, evaluated once.
# When the window gives nothing, the limit is counted on its own to tell the two apart.
_UNDER_LEASE_LIMIT = """(SELECT count(*) FROM labeling_assignment
           WHERE worker_id = %(worker)s AND job_id = %(job)s AND status = 'leased'
             AND expires_at > %(now)s) < %(max_leases)s"""
# The window's rows are read again by their place on the page (ctid, from the same snapshot:
# the same row version; a lock that finds it updated rechecks the newest one), not through
# the primary key: no second index descent per row, so the window costs what the walk did.
_WINDOW_HEAD = (
    f"""SELECT item.id, item.priority
    FROM (SELECT ctid, id, priority FROM labeling_item
          WHERE job_id = %(job)s AND status = 'open'
          ORDER BY priority DESC, id LIMIT {CLAIM_WINDOW}) AS head
    JOIN labeling_item AS item ON item.ctid = head.ctid
    WHERE {_OPEN_FILTER} AND {_UNDER_LEASE_LIMIT}
    ORDER BY head.priority DESC, head.id
    LIMIT 1
"""
    + _LOCK_HEAD
)
_AFTER_CURSOR_SAME_PRIORITY = (
    f"""SELECT item.id, item.priority
    FROM labeling_item AS item
    WHERE item.job_id = %(job)s AND item.priority = %(cursor_priority)s
      AND item.id > %(cursor_item)s AND {_OPEN_FILTER}
    ORDER BY item.priority DESC, item.id
    LIMIT 1
"""
    + _LOCK_HEAD
)
_AFTER_CURSOR_LOWER_PRIORITY = (
    f"""SELECT item.id, item.priority
    FROM labeling_item AS item
    WHERE item.job_id = %(job)s AND item.priority < %(cursor_priority)s AND {_OPEN_FILTER}
    ORDER BY item.priority DESC, item.id
    LIMIT 1
"""
    + _LOCK_HEAD
)
# A job with gold: its gold items this worker's gate lets in (a hash of worker and item,
# see quality/services/gold.py) sit in the same queue order as the open items (priority, then
# place: an open item's place is its id, a gold item's its queue_position or id), and the
# claim takes whichever comes first. Every claim of the job runs this one statement, so a
# gold lease costs what an ordinary one does and arrives in the same order.
_GOLD_HEAD = f"""
    FROM labeling_golditem AS gold
    JOIN labeling_item AS item ON item.id = gold.item_id
    WHERE gold.job_id = %(job)s AND gold.purpose = 'queue' AND %(new_items)s
      AND item.taken < %(gold_max_taken)s
      AND (item.id * {GOLD_GATE_ITEM_FACTOR} + %(worker)s * {GOLD_GATE_WORKER_FACTOR})
          %% {GOLD_GATE_MODULUS} < %(gold_gate)s
      AND {_NOT_HELD_BY_WORKER}
    ORDER BY item.priority DESC, COALESCE(gold.queue_position, item.id), item.id
    LIMIT 1
"""
# The lease's times are the database's clock when the lease's row is written (PostgreSQL),
# not a time read before the statement: the statement may see a lease of the same worker that
# another transaction closed after that read (its claim waited on the worker's lock, then this
# statement's snapshot saw the close), and the new lease must not start before the old one
# ended. The close stamps its end with its statement's time (services/annotations.py,
# _end_lease below), which is before its commit, so before this clock reading.
_TAKE_AND_LEASE = """
slot AS (
    UPDATE labeling_item AS item SET taken = item.taken + 1
    FROM candidate WHERE item.id = candidate.id AND {slot_free}
    RETURNING item.id, item.data, item.priority, item.status
), lease AS (
    INSERT INTO labeling_assignment (job_id, item_id, worker_id, status, leased_at, expires_at)
    SELECT %(job)s, slot.id, %(worker)s, 'leased', clock.at, clock.at + %(lifetime)s
    FROM slot, (SELECT clock_timestamp() AS at) AS clock
    RETURNING id, item_id, leased_at, expires_at
){cursor}
SELECT lease.id, lease.item_id, slot.data, lease.leased_at, lease.expires_at
FROM lease JOIN slot ON slot.id = lease.item_id
"""
# Moves the worker's cursor to the open item just leased, when that is further on.
_MOVE_CURSOR = """, cursor AS (
    INSERT INTO labeling_claimcursor (job_id, worker_id, priority, item_id)
    SELECT %(job)s, %(worker)s, slot.priority, slot.id FROM slot WHERE slot.status = 'open'
    ON CONFLICT (job_id, worker_id) DO UPDATE
    SET priority = excluded.priority, item_id = excluded.item_id
    WHERE labeling_claimcursor.priority > excluded.priority
       OR (labeling_claimcursor.priority = excluded.priority
           AND labeling_claimcursor.item_id < excluded.item_id)
)"""
_OPEN_SLOT_FREE = "item.taken < %(slots)s + item.extra_slots"
_CLAIM_POSTGRES_STEPS = tuple(
    f"WITH candidate AS ({head}), "
    + _TAKE_AND_LEASE.format(slot_free=_OPEN_SLOT_FREE, cursor=_MOVE_CURSOR)
    for head in (
        _WINDOW_HEAD,
        _AFTER_CURSOR_SAME_PRIORITY,
        _AFTER_CURSOR_LOWER_PRIORITY,
        _QUEUE_HEAD,
    )
)
_READ_CURSOR = """
SELECT priority, item_id FROM labeling_claimcursor WHERE job_id = %s AND worker_id = %s
"""
# SQLite (the claims already run one at a time): the two heads in one query, same order.
_OPEN_PLACE = "SELECT item.id, item.priority, item.id AS place"
_GOLD_PLACE = "SELECT item.id, item.priority, COALESCE(gold.queue_position, item.id) AS place"
_FIRST_HEAD = "ORDER BY priority DESC, place, id LIMIT 1"
# SQLite (the claims already run one at a time): the two heads in one query, same order.
_HEADS_SQLITE = (
    f"SELECT id, data FROM (SELECT * FROM ({_OPEN_PLACE}, item.data{_OPEN_HEAD}) "
    f"UNION ALL SELECT * FROM ({_GOLD_PLACE}, item.data{_GOLD_HEAD})) {_FIRST_HEAD}"
)
_CLAIM_POSTGRES_WITH_GOLD = (
    f"WITH open_head AS ({_OPEN_PLACE}{_OPEN_HEAD}{_LOCK_HEAD}), "
    f"gold_head AS ({_GOLD_PLACE}{_GOLD_HEAD}), candidate AS ("
    "SELECT id FROM (SELECT * FROM open_head UNION ALL SELECT * FROM gold_head) AS head "
    f"{_FIRST_HEAD}), "
    + _TAKE_AND_LEASE.format(
        slot_free=f"(item.status = 'open' AND {_OPEN_SLOT_FREE} "
        "OR item.status = 'labeled' AND item.taken < %(gold_max_taken)s)",
        cursor="",
    )
)


_LOCK_MEMBERSHIP = """
SELECT id{probes} FROM labeling_teammembership WHERE team_id = %(team)s AND user_id = %(worker)s
"""
# PostgreSQL: the same lock, and the claim's commit does not wait for its WAL flush
# (synchronous_commit off for this transaction only). The claim's row locks (the worker's
# membership, the item) are released as soon as the commit is written, not after the disk
# flush, so submits and claims of the same item or worker stop queueing behind fsyncs.
# Safe: a crash can lose only the last fraction of a second of leases, whole (the lease and
# its slot together); a later synchronous commit (every submit) flushes them first, so no
# stored answer can point at a lost lease. See docs/claiming.md.
# The same statement reads the claim gates' probes of the job (services/claim_gates.py).
_LOCK_MEMBERSHIP_POSTGRES = """
SELECT id{probes}, set_config('synchronous_commit', 'off', true) FROM labeling_teammembership
WHERE team_id = %(team)s AND user_id = %(worker)s FOR UPDATE
"""
_COUNT_LIVE_LEASES = """
SELECT count(*) FROM labeling_assignment
WHERE worker_id = %s AND job_id = %s AND status = 'leased' AND expires_at > %s
"""


def worker_may_work_on(*, job: Job, worker: User) -> bool:
    return TeamMembership.objects.filter(team_id=job.team_id, user_id=worker.pk).exists()


def _check_job_open(job: Job) -> None:
    if job.status != JobStatus.IN_PROGRESS:
        raise Conflict(f"the job is {job.get_status_display().lower()}", code="job_not_in_progress")
    if job.expires_at and job.expires_at <= timezone.now():
        raise Conflict("the job's availability lifetime has ended", code="job_expired")


def assignment_claim(*, job: Job, worker: User) -> Assignment | None:
    """Lease the next item of ``job`` to ``worker``; None when nothing is left for them."""
    if job.status == JobStatus.COMPLETED:
        if not worker_may_work_on(job=job, worker=worker):
            raise NotAllowed("you are not on the team of this job", code="not_on_team")
        return None
    _check_job_open(job)
    worker_check_may_lease(job=job, worker=worker)  # issue 5: paused on gold
    for attempt in range(2):
        assignment = _claim_once(job, worker)
        if assignment is not None:
            return assignment
        # Nothing free: leases that ran out may still hold slots until the sweeper passes.
        if attempt == 0 and not assignments_expire_due(job_id=job.pk):
            return None
    return None


def _lock_worker(job: Job, worker: User) -> list[object]:
    """Inside a transaction: serialise the worker's claims (the lock is the worker's
    membership row of the job's team); returns the values of the claim gates' probes."""
    probes = claim_gate_probes()
    lock = _LOCK_MEMBERSHIP_POSTGRES if connection.vendor == "postgresql" else _LOCK_MEMBERSHIP
    lock = lock.format(probes="".join(f", {probe}" for probe in probes))
    with connection.cursor() as cursor:
        cursor.execute(lock, {"team": job.team_id, "worker": worker.pk, "job": job.pk})
        row = cursor.fetchone()
    if row is None:
        raise NotAllowed("you are not on the team of this job", code="not_on_team")
    return list(row[1 : 1 + len(probes)])


def _check_lease_limit(job: Job, worker: User, checked_at) -> None:
    """Inside a transaction, after ``_lock_worker``: refuse a worker who holds as many live
    leases of the job as it allows. The leases are counted in a statement of their own, after
    the lock: under READ COMMITTED only a statement that starts after the lock sees the lease
    that the previous holder of the lock committed."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_LIVE_LEASES, [worker.pk, job.pk, checked_at])
        (live,) = cursor.fetchone()
    if live >= job.max_concurrent_tasks_per_worker:
        held = list(
            Assignment.objects.filter(
                worker_id=worker.pk,
                job_id=job.pk,
                status=AssignmentStatus.LEASED,
                expires_at__gt=checked_at,
            ).values_list("pk", flat=True)
        )
        raise Conflict(
            f"you hold {len(held)} task(s) of this job, the most it allows; "
            "submit or skip one first",
            code="too_many_leases",
            details={"assignments": held},
        )


def _claim_once(job: Job, worker: User) -> Assignment | None:
    with transaction.atomic():
        probed = _lock_worker(job, worker)
        # Read under the lock: the live leases are counted against it. SQLite's leases are
        # stamped with it (its writes run one at a time, so it orders like the leases);
        # PostgreSQL's claim statement stamps the lease with the database's clock.
        now = timezone.now()
        # PostgreSQL without gold: the first claim statement checks the lease limit itself.
        limit_in_claim = connection.vendor == "postgresql" and job.gold_rate <= 0
        if not limit_in_claim:
            _check_lease_limit(job, worker, now)
        # A closed job (a spent human budget) only finishes the items humans started.
        closed = claim_closed(job, probed)
        new_items = closed is None
        if connection.vendor == "postgresql":
            assignment = _claim_postgres(job, worker, now, new_items)
        else:
            expires = now + timedelta(seconds=job.task_time_limit_seconds)
            assignment = _claim_serialised(job, worker, now, expires, new_items)
        if assignment is None and closed is not None:
            raise Conflict(closed.message, code=closed.code)
        return assignment


def _claim_postgres(job: Job, worker: User, now, new_items: bool) -> Assignment | None:
    params = {
        "job": job.pk,
        "worker": worker.pk,
        "new_items": new_items,
        "slots": claim_slots(job),
        "now": now,
        "lifetime": timedelta(seconds=job.task_time_limit_seconds),
        "max_leases": job.max_concurrent_tasks_per_worker,
    }
    if job.gold_rate > 0:  # the job's setting, the same for every claim of the job
        params.update(gold_gate=gold_gate(job), gold_max_taken=GOLD_MAX_TAKEN)
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_POSTGRES_WITH_GOLD, params)
            row = cursor.fetchone()
    else:
        row = _claim_postgres_steps(job, worker, params, now)
    if row is None:
        return None
    assignment_id, item_id, data, leased_at, expires_at = row
    assignment = Assignment(
        pk=assignment_id,
        job=job,
        item_id=item_id,
        worker=worker,
        leased_at=leased_at,
        expires_at=expires_at,
    )
    assignment.item = Item(pk=item_id, job_id=job.pk, data=data)
    return assignment


def _claim_postgres_steps(job: Job, worker: User, params: dict, now) -> tuple | None:
    """A job without gold: the window, then after the cursor, then the walk (see above).
    The window's statement also checks the lease limit: when it gives nothing, the limit is
    checked on its own first (a worker at the limit is refused, as before any claim)."""
    window, same_priority, lower_priority, walk = _CLAIM_POSTGRES_STEPS
    with connection.cursor() as cursor:
        cursor.execute(window, params)
        row = cursor.fetchone()
    if row is not None:
        return row
    _check_lease_limit(job, worker, now)
    with connection.cursor() as cursor:
        cursor.execute(_READ_CURSOR, [job.pk, worker.pk])
        place = cursor.fetchone()
        if place is not None:
            params.update(cursor_priority=place[0], cursor_item=place[1])
            for statement in (same_priority, lower_priority):
                cursor.execute(statement, params)
                row = cursor.fetchone()
                if row is not None:
                    return row
        cursor.execute(walk, params)
        return cursor.fetchone()


def _claim_serialised(job: Job, worker: User, now, expires, new_items: bool) -> Assignment | None:
    """SQLite: the transaction began IMMEDIATE, so no other claim runs until it commits.

    A job with gold reads the heads of its open and its gold items in one query, on every
    claim, and takes whichever comes first in queue order (as PostgreSQL's statement does)."""
    slots = claim_slots(job) + F("extra_slots")
    free = Q(status=ItemStatus.OPEN, taken__lt=slots)
    if job.gold_rate > 0 and new_items:
        params = {
            "job": job.pk,
            "worker": worker.pk,
            "new_items": new_items,
            "slots": claim_slots(job),
            "gold_gate": gold_gate(job),
            "gold_max_taken": GOLD_MAX_TAKEN,
        }
        with connection.cursor() as cursor:
            cursor.execute(_HEADS_SQLITE, params)
            row = cursor.fetchone()
        item = None if row is None else Item(pk=row[0], job_id=job.pk, data=row[1])
        free |= Q(status=ItemStatus.LABELED, taken__lt=GOLD_MAX_TAKEN)
    else:
        item = _first_free_serialised(job, worker, free, new_items)
    if item is None:
        return None
    took = Item.objects.filter(free, pk=item.pk).update(taken=F("taken") + 1)
    if took != 1:  # pragma: no cover - nothing else writes while this transaction runs
        raise Conflict("the item was taken meanwhile; ask again", code="claim_race")
    if not (job.gold_rate > 0 and new_items):
        with connection.cursor() as cursor:
            cursor.execute(_MOVE_CURSOR_SERIALISED, [job.pk, worker.pk, item.priority, item.pk])
    return Assignment.objects.create(
        job=job, item=item, worker=worker, leased_at=now, expires_at=expires
    )


_MOVE_CURSOR_SERIALISED = """
INSERT INTO labeling_claimcursor (job_id, worker_id, priority, item_id) VALUES (%s, %s, %s, %s)
ON CONFLICT (job_id, worker_id) DO UPDATE
SET priority = excluded.priority, item_id = excluded.item_id
WHERE labeling_claimcursor.priority > excluded.priority
   OR (labeling_claimcursor.priority = excluded.priority
       AND labeling_claimcursor.item_id < excluded.item_id)
"""


def _first_free_serialised(job: Job, worker: User, free: Q, new_items: bool) -> Item | None:
    """The same three steps as PostgreSQL's claim: the window, after the cursor, the walk."""
    held_by_worker = Assignment.objects.filter(
        item_id=OuterRef("pk"), worker_id=worker.pk, status__in=ASSIGNMENT_HOLDS_ITEM
    )
    candidates = Item.objects.filter(free, job_id=job.pk)
    if not new_items:
        candidates = candidates.filter(taken__gt=0)
    eligible = (
        candidates.filter(~Exists(held_by_worker))
        .order_by("-priority", "id")
        .only("id", "data", "job_id", "priority")
    )
    head = Item.objects.filter(job_id=job.pk, status=ItemStatus.OPEN).order_by("-priority", "id")
    item = eligible.filter(pk__in=list(head.values_list("pk", flat=True)[:CLAIM_WINDOW])).first()
    if item is not None:
        return item
    place = (
        ClaimCursor.objects.filter(job_id=job.pk, worker_id=worker.pk)
        .values_list("priority", "item_id")
        .first()
    )
    if place is not None:
        priority, item_id = place
        item = (
            eligible.filter(priority=priority, pk__gt=item_id).first()
            or eligible.filter(priority__lt=priority).first()
        )
        if item is not None:
            return item
    return eligible.first()


# PostgreSQL: the lease's end is its statement's time, before the commit that lets the
# worker's next claim see it (see _TAKE_AND_LEASE).
_END_LEASE_POSTGRES = """
UPDATE labeling_assignment SET status = %s, finished_at = statement_timestamp()
WHERE id = %s AND status = 'leased' RETURNING finished_at
"""


def _end_lease(assignment: Assignment, status: str) -> None:
    """Close a leased assignment as ``status`` and give its slot back to the item."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_END_LEASE_POSTGRES, [status, assignment.pk])
            row = cursor.fetchone()
        ended, now = (0, None) if row is None else (1, row[0])
    else:
        now = timezone.now()
        ended = Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.LEASED).update(
            status=status, finished_at=now
        )
    if ended != 1:
        assignment.refresh_from_db(fields=["status"])
        raise LeaseClosed(
            f"this task is already {assignment.status}", details={"status": assignment.status}
        )
    Item.objects.filter(pk=assignment.item_id).update(taken=F("taken") - 1)
    assignment.status = status
    assignment.finished_at = now


def assignment_lock_for_worker(*, assignment_id: int, worker: User) -> Assignment:
    """Lock a lease row for a write by its worker (inside a transaction)."""
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("job")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise Conflict(f"there is no task {assignment_id}", code="not_found")
    if assignment.worker_id != worker.pk:
        raise NotAllowed("this task is leased to another worker", code="not_your_lease")
    return assignment


def assignment_skip(*, assignment_id: int, worker: User) -> Assignment:
    with transaction.atomic():
        assignment = assignment_lock_for_worker(assignment_id=assignment_id, worker=worker)
        _end_lease(assignment, AssignmentStatus.SKIPPED)
    return assignment


def assignment_release(*, assignment_id: int, worker: User) -> Assignment:
    """Give a task back without skipping it: the worker may be offered it again."""
    with transaction.atomic():
        assignment = assignment_lock_for_worker(assignment_id=assignment_id, worker=worker)
        _end_lease(assignment, AssignmentStatus.RELEASED)
    return assignment


def assignment_expire(*, assignment: Assignment) -> bool:
    """Expire one lease that ran out (inside the caller's transaction); False if it ended."""
    try:
        _end_lease(assignment, AssignmentStatus.EXPIRED)
    except LeaseClosed:
        return False
    return True


def assignment_revoke(*, assignment: Assignment) -> None:
    """End the lease of a worker who left the job's team (inside the caller's transaction,
    the row locked): its slot goes back to the item."""
    _end_lease(assignment, AssignmentStatus.RELEASED)


def assignments_expire_due(*, job_id: int | None = None, now=None) -> int:
    """Expire leases past their time, batch by batch; returns how many were expired."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            due = Assignment.objects.filter(status=AssignmentStatus.LEASED, expires_at__lte=now)
            if job_id is not None:
                due = due.filter(job_id=job_id)
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True)
            rows = list(due.order_by("expires_at").values_list("pk", "item_id")[:EXPIRY_BATCH_SIZE])
            if not rows:
                return expired
            Assignment.objects.filter(
                pk__in=[pk for pk, _ in rows], status=AssignmentStatus.LEASED
            ).update(status=AssignmentStatus.EXPIRED, finished_at=now)
            for item_id, count in Counter(item_id for _, item_id in rows).items():
                Item.objects.filter(pk=item_id).update(taken=F("taken") - count)
        expired += len(rows)
        if len(rows) < EXPIRY_BATCH_SIZE:
            return expired
