"""The labelers' load generator and the guarantee checks run straight against the database.

Each simulated labeler is one thread with one keep-alive connection: it asks for the next
task, answers it with a random label, and does it again until the run's deadline, with an
optional exponential think time before every request (an open-ish, human-paced load).
"""

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from _harness import LABELS, Client, Stack, db_connect
from _probes import CORES, CpuMeter, ms, percentile

JOIN_GRACE_SECONDS = 30


@dataclass
class LabelerLog:
    """What one labeler saw: (started, seconds, status) per request kind, and its errors."""

    next: list[tuple[float, float, int]] = field(default_factory=list)
    submit: list[tuple[float, float, int]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    exhausted: bool = False
    reconnects: int = 0
    held: int | None = None  # the lease held when the run ended, if any

    def error(self, key: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1


def _labeler(
    client: Client,
    job_id: int,
    deadline: float,
    think_mean: float,
    seed: int,
    log: LabelerLog,
    stop: threading.Event,
) -> None:
    rng = random.Random(seed)

    def think() -> bool:
        """Sleep an exponential think time; False when the run is over."""
        if think_mean > 0:
            pause = min(rng.expovariate(1 / think_mean), max(0.0, deadline - time.monotonic()))
            stop.wait(pause)
        return time.monotonic() < deadline and not stop.is_set()

    try:
        while think():
            started = time.monotonic()
            status, body, seconds = client.call("POST", f"/api/v1/jobs/{job_id}/tasks/next")
            log.next.append((started, seconds, status))
            if status == 204:
                log.exhausted = True
                return
            if status == 200:
                assignment_id = body["assignment_id"]
            elif status == 409 and body["error"]["code"] == "too_many_leases":
                # A lease left from before: answer it first.
                assignment_id = body["error"]["details"]["assignments"][0]
            else:
                log.error(f"next:{status}")
                stop.wait(0.05)
                continue
            log.held = assignment_id
            if not think():
                return
            answer = {"answer": {"label": rng.choice(LABELS)}}
            started = time.monotonic()
            status, body, seconds = client.call(
                "POST", f"/api/v1/assignments/{assignment_id}/submit", answer
            )
            log.submit.append((started, seconds, status))
            if status == 201:
                log.held = None
            else:
                log.error(f"submit:{status}")
    except Exception as exc:  # a labeler that crashes is reported, never hides the run
        log.error(f"exception:{type(exc).__name__}:{str(exc)[:80]}")
    finally:
        log.reconnects = client.reconnects
        client.close()


def run_labelers(
    stack: Stack,
    job_id: int,
    tokens: list[str],
    *,
    seconds: float,
    think_mean: float = 0.0,
    warmup: float = 3.0,
    seed: int = 1,
) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """Run one labeler thread per token for ``warmup + seconds``; figures of the window only.

    Latencies are of requests that started inside the window; answers are submits (201)
    that started inside it. Also returns (token, assignment id) of the leases still held.
    """
    stop = threading.Event()
    logs = [LabelerLog() for _ in tokens]
    started = time.monotonic()
    window_start = started + warmup
    deadline = window_start + seconds
    threads = [
        threading.Thread(
            target=_labeler,
            args=(Client(stack.port, token), job_id, deadline, think_mean, seed * 10_000 + i, log),
            kwargs={"stop": stop},
            daemon=True,
        )
        for i, (token, log) in enumerate(zip(tokens, logs, strict=True))
    ]
    for thread in threads:
        thread.start()
    meter = CpuMeter(stack)
    time.sleep(max(0.0, window_start - time.monotonic()))
    meter.start()
    time.sleep(max(0.0, deadline - time.monotonic()))
    cpu = meter.stop()
    stop.set()
    for thread in threads:
        thread.join(timeout=max(0.1, deadline + JOIN_GRACE_SECONDS - time.monotonic()))
    stuck = sum(thread.is_alive() for thread in threads)

    def window(kind: str) -> list[tuple[float, float, int]]:
        return [
            row for log in logs for row in getattr(log, kind) if window_start <= row[0] < deadline
        ]

    nexts, submits = window("next"), window("submit")
    next_ok = [s for _, s, status in nexts if status == 200]
    submit_ok = [s for _, s, status in submits if status == 201]
    per_answer = {
        f"{name}_cpu_ms_per_answer": round(cpu[name] * seconds * CORES * 1000 / len(submit_ok), 2)
        if submit_ok
        else None
        for name in ("gunicorn", "postgres", "generator", "celery")
    }
    server_ms = (per_answer["gunicorn_cpu_ms_per_answer"] or 0) + (
        per_answer["postgres_cpu_ms_per_answer"] or 0
    )
    errors: dict[str, int] = {}
    for log in logs:
        for key, count in log.errors.items():
            errors[key] = errors.get(key, 0) + count
    held = [(token, log.held) for token, log in zip(tokens, logs, strict=True) if log.held]
    return held, {
        "labelers": len(tokens),
        "think_mean_seconds": think_mean,
        "window_seconds": seconds,
        "answers": len(submit_ok),
        "answers_per_second": round(len(submit_ok) / seconds, 1),
        "next_p50_ms": ms(percentile(next_ok, 0.50)),
        "next_p99_ms": ms(percentile(next_ok, 0.99)),
        "next_max_ms": ms(max(next_ok, default=None)),
        "submit_p50_ms": ms(percentile(submit_ok, 0.50)),
        "submit_p99_ms": ms(percentile(submit_ok, 0.99)),
        "submit_max_ms": ms(max(submit_ok, default=None)),
        "requests": len(nexts) + len(submits),
        "nothing_left_204": sum(1 for _, _, status in nexts if status == 204),
        "errors": errors,
        "stale_reconnects": sum(log.reconnects for log in logs),
        "labelers_exhausted": sum(log.exhausted for log in logs),
        "labelers_stuck": stuck,
        "leases_held_at_end": sum(log.held is not None for log in logs),
        "cpu_share": cpu,
        **per_answer,
        # What the server side could do with the whole machine to itself (CPU-bound).
        "capacity_answers_per_second": round(CORES * 1000 / server_ms, 1) if server_ms else None,
    }


def release_leases(stack: Stack, held: list[tuple[str, int]]) -> int:
    """Give back the leases labelers held when a run stopped, as a closing browser tab would
    not but a polite client does; returns how many were released."""
    released = 0
    for token, assignment_id in held:
        client = Client(stack.port, token)
        status, _, _ = client.call("POST", f"/api/v1/assignments/{assignment_id}/release")
        client.close()
        released += status == 200
    return released


HOT_TABLES = (
    "labeling_item",
    "labeling_assignment",
    "labeling_annotation",
    "labeling_job",
    "labeling_jobcounter",
)


def vacuum_hot_tables(*, checkpoint: bool = False, url: str | None = None) -> float:
    """VACUUM (ANALYZE) the tables the loop writes, as autovacuum would between runs.

    ``checkpoint`` also flushes the dirty buffers (after a bulk import), so that the next
    run's PostgreSQL CPU is its own and not the checkpointer's.
    """
    started = time.monotonic()
    with db_connect(url) as conn:
        for table in HOT_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
        if checkpoint:
            conn.execute("CHECKPOINT")
    return round(time.monotonic() - started, 2)


# --- Guarantees, counted from the database -------------------------------------------------

VIOLATIONS_SQL = {
    # More submitted answers on an item than the job asks for.
    "items_over_answered": """
        SELECT count(*) FROM (
            SELECT item_id FROM labeling_annotation WHERE job_id = %(job)s
            GROUP BY item_id HAVING count(*) > %(per_item)s) t""",
    "items_over_submitted_assignments": """
        SELECT count(*) FROM (
            SELECT item_id FROM labeling_assignment
            WHERE job_id = %(job)s AND status = 'submitted'
            GROUP BY item_id HAVING count(*) > %(per_item)s) t""",
    # One worker answering one item twice.
    "item_worker_answered_twice": """
        SELECT count(*) FROM (
            SELECT item_id, worker_id FROM labeling_assignment
            WHERE job_id = %(job)s AND status = 'submitted'
            GROUP BY item_id, worker_id HAVING count(*) > 1) t""",
    "item_worker_annotations_twice": """
        SELECT count(*) FROM (
            SELECT item_id, worker_id FROM labeling_annotation WHERE job_id = %(job)s
            GROUP BY item_id, worker_id HAVING count(*) > 1) t""",
    # An answer stored after its lease ran out.
    "answers_after_lease_expiry": """
        SELECT count(*) FROM labeling_annotation a
        JOIN labeling_assignment s ON s.id = a.assignment_id
        WHERE a.job_id = %(job)s AND a.submitted_at > s.expires_at""",
    # A worker holding more live leases than the job allows.
    "workers_over_lease_limit": """
        SELECT count(*) FROM (
            SELECT worker_id FROM labeling_assignment
            WHERE job_id = %(job)s AND status = 'leased' AND expires_at > now()
            GROUP BY worker_id HAVING count(*) > %(max_leases)s) t""",
    # Item.taken must equal its leases still open plus its submitted answers.
    "items_taken_drift": """
        SELECT count(*) FROM labeling_item i
        LEFT JOIN (
            SELECT item_id,
                   count(*) FILTER (WHERE status = 'leased') AS leased,
                   count(*) FILTER (WHERE status = 'submitted') AS submitted
            FROM labeling_assignment WHERE job_id = %(job)s GROUP BY item_id) a
          ON a.item_id = i.id
        WHERE i.job_id = %(job)s
          AND i.taken <> coalesce(a.leased, 0) + coalesce(a.submitted, 0)""",
    # Item.answers must equal its stored answers.
    "items_answers_drift": """
        SELECT count(*) FROM labeling_item i
        LEFT JOIN (
            SELECT item_id, count(*) AS n FROM labeling_annotation
            WHERE job_id = %(job)s GROUP BY item_id) a ON a.item_id = i.id
        WHERE i.job_id = %(job)s AND i.answers <> coalesce(a.n, 0)""",
    # Labeled items must have exactly workers_per_item answers and one consolidated label.
    "labeled_items_without_label": """
        SELECT count(*) FROM labeling_item i
        LEFT JOIN labeling_consolidatedlabel c ON c.item_id = i.id
        WHERE i.job_id = %(job)s AND i.status = 'labeled'
          AND (c.id IS NULL OR i.answers <> %(per_item)s)""",
    # The job's counters (summed over their shards) must match the rows.
    "job_answers_total_drift": """
        SELECT abs(coalesce(sum(c.answers), 0) - (
            SELECT count(*) FROM labeling_annotation WHERE job_id = %(job)s))
        FROM labeling_jobcounter c WHERE c.job_id = %(job)s""",
    "job_items_labeled_drift": """
        SELECT abs(coalesce(sum(c.items_labeled), 0) - (
            SELECT count(*) FROM labeling_consolidatedlabel WHERE job_id = %(job)s))
        FROM labeling_jobcounter c WHERE c.job_id = %(job)s""",
}

INFO_SQL = {
    "annotations": "SELECT count(*) FROM labeling_annotation WHERE job_id = %(job)s",
    "items_labeled": """SELECT count(*) FROM labeling_item
        WHERE job_id = %(job)s AND status = 'labeled'""",
    "leases_open": """SELECT count(*) FROM labeling_assignment
        WHERE job_id = %(job)s AND status = 'leased'""",
    "leases_open_past_expiry": """SELECT count(*) FROM labeling_assignment
        WHERE job_id = %(job)s AND status = 'leased' AND expires_at <= now()""",
}


def check_guarantees(job_id: int, url: str | None = None) -> dict[str, Any]:
    """Count every guarantee violation of a job (all must be 0), plus a few totals."""
    with db_connect(url) as conn:
        job = conn.execute(
            "SELECT workers_per_item, max_concurrent_tasks_per_worker FROM labeling_job "
            "WHERE id = %s",
            [job_id],
        ).fetchone()
        params = {"job": job_id, "per_item": job[0], "max_leases": job[1]}
        violations = {
            name: conn.execute(sql, params).fetchone()[0] for name, sql in VIOLATIONS_SQL.items()
        }
        info = {name: conn.execute(sql, params).fetchone()[0] for name, sql in INFO_SQL.items()}
    return {"violations": violations, "all_zero": not any(violations.values()), **info}
