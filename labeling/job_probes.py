"""Yes/no questions about a job that other parts of the app ask on every consolidation (does a
hook take it over? is the job streaming? has it chained children?), answered in the submit's
first statement instead of one round trip each (issue 20).

A part registers its question once as a *probe*: an SQL boolean expression over its own
tables with the job's id as ``{job}``. On PostgreSQL the submit evaluates every probe in the
statement that closes the lease and makes the answers known for that job until the submit
returns (its after-commit receivers included); ``job_probe`` answers from there, and runs the
probe as a statement of its own anywhere else (another request, a Celery task, SQLite's
submit). The answers are read inside the submit's transaction, as the probes they replace
were; a setting changed meanwhile is seen by the next submit (and by the periodic sweeps that
back up hooks, feeds and chains).
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection

_PROBES: dict[str, str] = {}
# (job id, its probes' answers) while a submit runs in this thread.
_KNOWN: ContextVar[tuple[int, Mapping[str, bool]] | None] = ContextVar(
    "quorum_job_probes", default=None
)


def register_job_probe(name: str, expression: str) -> None:
    """Register ``expression`` (an SQL boolean over ``{job}``, the job's id) under ``name``."""
    if "{job}" not in expression:
        raise ValueError(f"job probe {name!r} must refer to the job's id as {{job}}")
    _PROBES[name] = expression


def job_probe_columns(job_id_sql: str) -> tuple[list[str], list[str]]:
    """The registered probes' names and their expressions over ``job_id_sql`` (a column of the
    caller's statement), in the same order, for a caller that evaluates them itself."""
    names = list(_PROBES)
    return names, [f"({_PROBES[name].format(job=job_id_sql)})" for name in names]


@contextmanager
def job_probes_known(job_id: int, answers: Mapping[str, bool]) -> Iterator[None]:
    """Within the block, ``job_probe`` answers ``job_id``'s probes from ``answers``."""
    token = _KNOWN.set((job_id, dict(answers)))
    try:
        yield
    finally:
        _KNOWN.reset(token)


def job_probe(name: str, job_id: int) -> bool:
    """The answer of probe ``name`` for ``job_id``: known from the running submit's statement,
    or read now."""
    known = _KNOWN.get()
    if known is not None and known[0] == job_id and name in known[1]:
        return bool(known[1][name])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_PROBES[name].format(job='%s')}", [job_id])
        return bool(cursor.fetchone()[0])
