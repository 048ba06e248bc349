"""A job's progress counters, kept in shards so that concurrent submits rarely wait.

Every write adds to one shard, chosen by a key the caller passes (the worker, for submits);
a job's progress is the sum over its shards. Shards are created with the job; a job made
some other way gets its shard on first use.
"""

from django.db import connection

from labeling.models import JobCounter

_ADD = """
UPDATE labeling_jobcounter
SET items_labeled = items_labeled + %s, answers = answers + %s, items_added = items_added + %s
WHERE job_id = %s AND shard = %s
"""
_ADD_CREATING = """
INSERT INTO labeling_jobcounter (job_id, shard, items_labeled, answers, items_added)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (job_id, shard) DO UPDATE
SET items_labeled = labeling_jobcounter.items_labeled + excluded.items_labeled,
    answers = labeling_jobcounter.answers + excluded.answers,
    items_added = labeling_jobcounter.items_added + excluded.items_added
"""


def job_counters_create(*, job_id: int) -> None:
    """Create the shards of a new job (inside the transaction that creates it)."""
    JobCounter.objects.bulk_create(
        [JobCounter(job_id=job_id, shard=shard) for shard in range(JobCounter.SHARDS)],
        ignore_conflicts=True,
    )


def job_counters_add(
    *, job_id: int, shard_key: int, items_labeled: int, answers: int, items_added: int = 0
) -> None:
    """Add to a job's labeled items, answers and items added while it runs, in the shard of
    ``shard_key``.

    The row stays locked until the caller's transaction ends: call it last.
    """
    shard = shard_key % JobCounter.SHARDS
    with connection.cursor() as cursor:
        cursor.execute(_ADD, [items_labeled, answers, items_added, job_id, shard])
        if cursor.rowcount == 0:
            cursor.execute(_ADD_CREATING, [job_id, shard, items_labeled, answers, items_added])


def job_counters_add_statement(
    *, job_id: int, shard_key: int, items_labeled: int, answers: int, items_added: int = 0
) -> tuple[str, list[int]]:
    """``job_counters_add`` as one statement and its parameters (creating the shard if it is
    missing), for a caller that makes it part of its own statement on PostgreSQL (a data-
    modifying WITH), so that the count and what it counts are written in one round trip."""
    shard = shard_key % JobCounter.SHARDS
    return _ADD_CREATING, [job_id, shard, items_labeled, answers, items_added]


def job_counters_update_statement(
    *, job_id: int, shard_key: int, items_labeled: int, answers: int, items_added: int = 0
) -> tuple[str, list[int]]:
    """The plain update of ``job_counters_add`` with its parameters, for a caller's own
    statement on PostgreSQL (issue 20: the submit counts its answer with its insert). It
    changes nothing when the shard is missing: it returns a row when it counted, and the caller
    that gets none calls ``job_counters_add``, which creates the shard."""
    shard = shard_key % JobCounter.SHARDS
    return _ADD.strip() + " RETURNING 1", [items_labeled, answers, items_added, job_id, shard]
