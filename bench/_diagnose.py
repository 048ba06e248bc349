"""What the database says after a phase: its top statements, dead row versions, the claim's plan.

Read from the bench's own cluster (``pg_stat_statements`` is loaded there), so each figure
belongs to the stack that ran the phase.
"""

import json
from typing import Any

import psycopg

HOT_TABLES = (
    "labeling_item",
    "labeling_assignment",
    "labeling_annotation",
    "labeling_jobcounter",
    "labeling_consolidatedlabel",
    "labeling_teammembership",
)

# The head walk of the claim as the previous head ran it (no lock): how much of the queue a
# claim must read past for this worker, whatever the code under test does instead.
HEAD_WALK_SQL = """
SELECT item.id FROM labeling_item AS item
WHERE item.job_id = %(job)s AND item.status = 'open'
  AND item.taken < %(slots)s + item.extra_slots
  AND (SELECT 1 FROM labeling_assignment AS mine
       WHERE mine.item_id = item.id AND mine.worker_id = %(worker)s
         AND mine.status IN ('leased', 'submitted', 'skipped') LIMIT 1) IS NULL
ORDER BY item.priority DESC, item.id
LIMIT 1
"""


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True)


def statements_reset(admin_url: str) -> None:
    with _connect(admin_url) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def statements_top(admin_url: str, database: str, top: int = 8) -> list[dict[str, Any]]:
    """The statements of ``database`` that took the most time since the last reset."""
    with _connect(admin_url) as conn:
        rows = conn.execute(
            """SELECT left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160), s.calls,
                      round(s.total_exec_time::numeric, 1), round(s.mean_exec_time::numeric, 3),
                      s.rows, s.shared_blks_hit + s.shared_blks_read
               FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
               WHERE d.datname = %s ORDER BY s.total_exec_time DESC LIMIT %s""",
            [database, top],
        ).fetchall()
    return [
        {"query": q, "calls": c, "total_ms": float(t), "mean_ms": float(m), "rows": r,
         "buffers_per_call": round(b / c, 1) if c else None}
        for q, c, t, m, r, b in rows
    ]  # fmt: skip


def table_stats(database_url: str) -> dict[str, dict[str, Any]]:
    """Live and dead row versions, updates and HOT updates, vacuums, per hot table."""
    with _connect(database_url) as conn:
        rows = conn.execute(
            """SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd,
                      autovacuum_count, autoanalyze_count, vacuum_count
               FROM pg_stat_user_tables WHERE relname = ANY(%s)""",
            [list(HOT_TABLES)],
        ).fetchall()
    return {
        name: {"live": live, "dead": dead, "updates": upd, "hot_updates": hot,
               "hot_share": round(hot / upd, 3) if upd else None,
               "autovacuums": av, "autoanalyzes": aa, "vacuums": vac}
        for name, live, dead, upd, hot, av, aa, vac in rows
    }  # fmt: skip


def explain_head_walk(database_url: str, job_id: int, worker_id: int, slots: int = 3) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the head walk for ``worker_id`` (see HEAD_WALK_SQL)."""
    with _connect(database_url) as conn:
        (plan,) = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + HEAD_WALK_SQL,
            {"job": job_id, "worker": worker_id, "slots": slots},
        ).fetchone()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    top = plan[0]
    node = top["Plan"]
    scanned = _rows_scanned(node)
    return {
        "execution_ms": round(top["Execution Time"], 3),
        "shared_buffers": node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0),
        "queue_rows_read": scanned,
    }


def _rows_scanned(node: dict) -> int:
    """Rows the queue's index scan produced (kept plus filtered out)."""
    if node.get("Relation Name") == "labeling_item" and "Index Name" in node:
        return int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0))
    return sum(_rows_scanned(child) for child in node.get("Plans", []))


def busiest_worker(database_url: str, job_id: int) -> int | None:
    """The worker with the most answers in the job: the longest walk past their own answers."""
    with _connect(database_url) as conn:
        row = conn.execute(
            "SELECT worker_id FROM labeling_annotation WHERE job_id = %s "
            "GROUP BY worker_id ORDER BY count(*) DESC LIMIT 1",
            [job_id],
        ).fetchone()
    return row[0] if row else None


def seed_history(database_url: str, job_id: int, username: str, answers: int) -> dict[str, Any]:
    """Give ``username`` ``answers`` answered items of the job straight in SQL: the first
    untouched open items in queue order, each with a submitted lease and an answer, the item's
    counts and the job's counter shard moved as a submit moves them (one answer of three: no
    item is completed), and their claim cursor where the code keeps one. What a labeler who has
    done that many items through claims leaves in the tables."""
    with _connect(database_url) as conn:
        (worker_id,) = conn.execute(
            "SELECT id FROM labeling_user WHERE username = %s", [username]
        ).fetchone()
        conn.execute(
            """WITH picked AS (
                 SELECT id FROM labeling_item WHERE job_id = %(job)s AND status = 'open'
                   AND taken = 0 ORDER BY priority DESC, id LIMIT %(n)s),
               bumped AS (
                 UPDATE labeling_item AS item SET taken = item.taken + 1,
                        answers = item.answers + 1
                 FROM picked WHERE item.id = picked.id RETURNING item.id),
               lease AS (
                 INSERT INTO labeling_assignment (job_id, item_id, worker_id, status, leased_at,
                                                  expires_at, finished_at)
                 SELECT %(job)s, id, %(worker)s, 'submitted', now() - interval '1 hour',
                        now() - interval '55 minutes', now() - interval '59 minutes'
                 FROM bumped RETURNING id, item_id, leased_at, finished_at)
               INSERT INTO labeling_annotation (assignment_id, job_id, item_id, worker_id, answer,
                                                label, accepted_at, submitted_at,
                                                time_spent_seconds)
               SELECT id, %(job)s, item_id, %(worker)s, '{"label": "positive"}', 'positive',
                      leased_at, finished_at, 60 FROM lease""",
            {"job": job_id, "worker": worker_id, "n": answers},
        )
        # A labeler who answered these through claims has their claim cursor (labeling's
        # claimcursor, where the code under test keeps one) at the last of them.
        has_cursor = conn.execute("SELECT to_regclass('labeling_claimcursor')").fetchone()[0]
        if has_cursor:
            conn.execute(
                """INSERT INTO labeling_claimcursor (job_id, worker_id, priority, item_id)
                   SELECT %(job)s, %(worker)s, item.priority, item.id
                   FROM labeling_annotation AS a JOIN labeling_item AS item ON item.id = a.item_id
                   WHERE a.job_id = %(job)s AND a.worker_id = %(worker)s
                   ORDER BY item.priority, item.id DESC LIMIT 1
                   ON CONFLICT (job_id, worker_id) DO UPDATE
                   SET priority = excluded.priority, item_id = excluded.item_id""",
                {"job": job_id, "worker": worker_id},
            )
        (stored,) = conn.execute(
            "SELECT count(*) FROM labeling_annotation WHERE job_id = %s AND worker_id = %s",
            [job_id, worker_id],
        ).fetchone()
        # Any shard will do: the job's progress is the sum over its shards.
        conn.execute(
            "UPDATE labeling_jobcounter SET answers = answers + %s WHERE job_id = %s AND shard = 0",
            [stored, job_id],
        )
    return {"worker_id": worker_id, "answers_seeded": stored}
