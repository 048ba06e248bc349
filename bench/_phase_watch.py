"""What else the bench's own cluster and worker did during a phase: PostgreSQL's CPU by kind of
process (client backends, autovacuum, the writers), what autovacuum worked on, the search text
backlog and the hot tables' counters before and after.

The phase's CPU per answer counts every process of the cluster; this splits it, so that the
work that only happens in the minutes after an import (autovacuum and autoanalyze of the new
rows, the search text's fill) can be told from the claim/submit loop's own.
"""

import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import psycopg
from _probes import CLK_TCK

SAMPLE_SECONDS = 0.5

# Process titles of a PostgreSQL 15 cluster ("postgres: autovacuum worker quorum_bench", ...).
_KINDS = (
    ("autovacuum worker", "autovacuum"),
    ("autovacuum launcher", "autovacuum"),
    ("walwriter", "writers"),
    ("checkpointer", "writers"),
    ("background writer", "writers"),
)

_TABLE_COUNTERS = """
SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze, n_ins_since_vacuum,
       autovacuum_count, autoanalyze_count
FROM pg_stat_user_tables WHERE relname = ANY(%s)
"""

WATCHED_TABLES = (
    "labeling_item",
    "labeling_assignment",
    "labeling_annotation",
    "labeling_itemtext",
    "labeling_jobcounter",
    "labeling_consolidatedlabel",
)


def _kind(pid: int) -> str | None:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    for marker, kind in _KINDS:
        if marker in title:
            return kind
    return "backends" if title.startswith("postgres:") else "postmaster"


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True)


def table_counters(database_url: str) -> dict[str, dict[str, int]]:
    with _connect(database_url) as conn:
        rows = conn.execute(_TABLE_COUNTERS, [list(WATCHED_TABLES)]).fetchall()
    return {
        name: {"live": live, "dead": dead, "mod_since_analyze": mod, "ins_since_vacuum": ins,
               "autovacuums": av, "autoanalyzes": aa}
        for name, live, dead, mod, ins, av, aa in rows
    }  # fmt: skip


def sessions(database_url: str) -> int:
    """Sessions opened on the database so far (each one a fork and a backend's start)."""
    with _connect(database_url) as conn:
        (count,) = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(count)


def text_backlog(database_url: str) -> int | None:
    """Item ids still waiting for their search text (None where the code has no backlog)."""
    with _connect(database_url) as conn:
        if conn.execute("SELECT to_regclass('labeling_itemtextbacklog')").fetchone()[0] is None:
            return None
        (waiting,) = conn.execute(
            "SELECT coalesce(sum(last_item_id - first_item_id + 1), 0) "
            "FROM labeling_itemtextbacklog"
        ).fetchone()
    return int(waiting)


class PhaseWatch:
    """Samples the cluster's processes and autovacuum's activity every SAMPLE_SECONDS from
    ``start`` to ``stop``; ``stop`` returns CPU seconds by kind of process and, per table
    autovacuum touched, the seconds it was seen working on it."""

    def __init__(self, pids: Callable[[], list[int]], admin_url: str, database_url: str):
        self.pids = pids
        self.admin_url = admin_url
        self.database_url = database_url
        self.done = threading.Event()

    def _sample(self, conn: psycopg.Connection | None) -> None:
        for pid in self.pids():
            kind = _kind(pid)
            ticks = _ticks(pid)
            if kind is None or not ticks:
                continue
            if pid not in self.first:
                self.first[pid] = 0 if self.started else ticks
            self.last[pid] = (kind, ticks)
        if conn is not None:
            with suppress(psycopg.Error):
                for (query,) in conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                ).fetchall():
                    key = (query or "?").removeprefix("autovacuum: ")
                    self.autovacuum[key] = self.autovacuum.get(key, 0) + 1

    def _run(self) -> None:
        with suppress(psycopg.Error), _connect(self.admin_url) as conn:
            while not self.done.wait(SAMPLE_SECONDS):
                self._sample(conn)

    def start(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, tuple[str, int]] = {}
        self.autovacuum: dict[str, int] = {}
        self.started = False
        self.tables_before = table_counters(self.database_url)
        self.backlog_before = text_backlog(self.database_url)
        self.sessions_before = sessions(self.database_url)
        self._sample(None)
        self.started = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> dict[str, Any]:
        self.done.set()
        self.thread.join(timeout=10)
        self._sample(None)
        seconds: dict[str, float] = {}
        for pid, (kind, ticks) in self.last.items():
            used = max(0, ticks - self.first.get(pid, 0)) / CLK_TCK
            seconds[kind] = round(seconds.get(kind, 0.0) + used, 2)
        after = table_counters(self.database_url)
        return {
            "postgres_cpu_seconds_by_kind": seconds,
            "autovacuum_seen_seconds": {
                query: round(n * SAMPLE_SECONDS, 1) for query, n in sorted(self.autovacuum.items())
            },
            "sessions_opened": sessions(self.database_url) - self.sessions_before,
            "text_backlog_before": self.backlog_before,
            "text_backlog_after": text_backlog(self.database_url),
            "tables_before": self.tables_before,
            "tables_after": after,
        }
