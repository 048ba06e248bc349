"""The fault suite's checks: what the labelers were told against what the database holds, and
what the issue asks of a run, each broken rule as one sentence."""

import contextlib
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg

from tests.faults.labelers import Submit


def answer_checks(conn: psycopg.Connection, job_id: int, n: int, submits: list[Submit]) -> dict:
    """Compare what the labelers were told with what the database holds."""
    stored = {
        aid
        for (aid,) in conn.execute(
            "SELECT assignment_id FROM labeling_annotation WHERE job_id = %s", [job_id]
        )
    }
    by_assignment: dict[int, list[Submit]] = {}
    for submit in submits:
        by_assignment.setdefault(submit.assignment_id, []).append(submit)
    acked = {s.assignment_id for s in submits if s.outcome == "acknowledged"}
    counts = Counter(s.outcome for s in submits)

    def stored_after(outcome: str) -> list[int]:
        # A failed submit stored its answer iff the answer is there and no later attempt on the
        # same lease was acknowledged (one answer per lease: a retry after a stored answer is
        # refused with lease_closed, never acknowledged).
        return sorted(
            {s.assignment_id for s in submits if s.outcome == outcome}
            & stored - acked
        )  # fmt: skip

    refused_stored = [
        aid
        for aid in stored_after("refused")
        if all(s.outcome == "refused" for s in by_assignment[aid])
    ]
    over_n = conn.execute(
        "SELECT count(*) FROM (SELECT item_id FROM labeling_annotation WHERE job_id = %s "
        "GROUP BY item_id HAVING count(*) > %s) AS over",
        [job_id, n],
    ).fetchone()[0]
    doubles = conn.execute(
        "SELECT count(*) FROM (SELECT item_id, worker_id FROM labeling_annotation "
        "WHERE job_id = %s GROUP BY item_id, worker_id HAVING count(*) > 1) AS twice",
        [job_id],
    ).fetchone()[0]
    counter_off = conn.execute(
        "SELECT count(*) FROM labeling_item i LEFT JOIN (SELECT item_id, count(*) AS c "
        "FROM labeling_annotation WHERE job_id = %s GROUP BY item_id) a ON a.item_id = i.id "
        "WHERE i.job_id = %s AND i.answers <> coalesce(a.c, 0)",
        [job_id, job_id],
    ).fetchone()[0]
    return {
        "submits": len(submits),
        "acknowledged": counts["acknowledged"],
        "refused": counts["refused"],
        "refused_codes": dict(Counter(s.code for s in submits if s.outcome == "refused")),
        "answered_5xx": counts["5xx"],
        "dropped": counts["dropped"],
        "unreachable": counts["unreachable"],
        "stored": len(stored),
        "acknowledged_not_stored": len(acked - stored),
        "stored_but_5xx": len(stored_after("5xx")),
        "stored_after_dropped": len(stored_after("dropped")),
        "stored_but_refused": len(refused_stored),
        "stored_never_submitted": len(stored - set(by_assignment)),
        "items_over_n": over_n,
        "double_answers": doubles,
        "item_counter_mismatch": counter_off,
        "examples_5xx": [asdict(s) for s in submits if s.outcome == "5xx"][:3],
    }


def imports_unfinished(conn: psycopg.Connection) -> list[dict]:
    rows = conn.execute(
        "SELECT id, status, lines_read, items_created, processed_bytes, total_bytes "
        "FROM labeling_importrun WHERE status IN ('queued', 'running') ORDER BY id"
    ).fetchall()
    keys = ("id", "status", "lines_read", "items_created", "processed_bytes", "total_bytes")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def log_findings(log: Path) -> dict[str, Any]:
    """Counts of the lines that say something broke, and the first few of each."""
    patterns = ("Traceback", "Unrecoverable error", "Internal Server Error", "CRITICAL",
                "WORKER TIMEOUT", "Worker (pid", "OperationalError", "ConnectionError",
                "stopped (exit codes")  # fmt: skip
    found: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        lines = log.read_text(errors="replace").splitlines()
        for pattern in patterns:
            hits = [line[:300] for line in lines if pattern in line]
            if hits:
                found[pattern] = {"count": len(hits), "first": hits[:2]}
    return found


def violations(figures: dict[str, Any], recovery_limit_seconds: float) -> list[str]:
    """What the issue asks for, each as a sentence naming the figure that broke it."""
    broken = []
    for key in ("acknowledged_not_stored", "stored_but_5xx", "stored_but_refused",
                "items_over_n", "double_answers"):  # fmt: skip
        if figures.get(key):
            broken.append(f"{key} = {figures[key]} (must be 0)")
    limit = recovery_limit_seconds
    for key in ("worker_back_s", "beat_back_s"):
        value = figures.get(key)
        if value is None or value > limit:
            broken.append(f"{key} = {value} (must be ≤ {limit:g} s)")
    if figures.get("imports_unfinished"):
        broken.append(f"imports left queued/running: {figures['imports_unfinished']}")
    if not figures.get("serve_alive"):
        broken.append("manage.py serve is not running at the end of the run")
    if figures.get("acknowledged", 0) == 0:
        broken.append("no answer was acknowledged at all")
    return broken


def summary(figures: dict[str, Any]) -> str:
    """One line of figures for a table cell or an assertion message."""
    f = figures
    return (
        f"{f['fault']}: {f.get('submits', 0)} submits, {f.get('acknowledged', 0)} acknowledged, "
        f"{f.get('stored', 0)} stored, {f.get('acknowledged_not_stored', '?')} acknowledged "
        f"but not stored, {f.get('answered_5xx', 0)} answered 5xx ({f.get('stored_but_5xx', '?')} "
        f"of them stored), {f.get('dropped', 0)} dropped ({f.get('stored_after_dropped', '?')} "
        f"stored), {f.get('unreachable', 0)} unreachable, {f.get('refused', 0)} refused; "
        f"items over N {f.get('items_over_n', '?')}, double answers "
        f"{f.get('double_answers', '?')}; worker back {f.get('worker_back_s')} s, beat back "
        f"{f.get('beat_back_s')} s; imports left {len(f.get('imports_unfinished', []))}; "
        f"serve alive {f.get('serve_alive')}; {f.get('answers_per_second', 0)} answers/s"
    )
