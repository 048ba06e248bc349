"""What an answer writes to PostgreSQL: WAL bytes per answer and the buffers and WAL of the
submit's and the consolidation's item statements (issue 20: the search text's own table).

Runs Django in this process (no server, Celery tasks eager) against a fresh database of a
PostgreSQL of your own (``bench/_pgcluster.py``'s, started), imports ``--items`` text items
through the services, lets the import's after-commit work finish, then answers ``--answers``
times (claim + submit through Django's WSGI handler, ``--labelers`` taking turns, 3 answers an
item: one answer in three consolidates its item). Load on the machine does not change what it
measures: ``pg_current_wal_lsn()`` before and after, ``pg_stat_statements`` (buffers, WAL) and
``pg_stat_user_tables`` (HOT updates) over the answers, and ``EXPLAIN (ANALYZE, BUFFERS, WAL)``
of the consolidation's item update (rolled back) on open items.

    .venv/bin/python bench/item_text_wal.py --pg-port 8510 [--items 100000] [--answers 3000]

Run it from a copy of another commit (its ``bench/`` holding this file) to compare.
"""

import argparse
import json
import sys
import time

import _harness
from _harness import LABELS, setup_django_in_process
from profile_requests import use_postgres_port

WARMUP_ANSWERS = 30
EXPLAINED_ITEMS = 20
STATEMENTS = {
    "submit (answer + item count + shard)": "WITH answer AS (INSERT INTO labeling_annotation%",
    "consolidation's item update": "UPDATE labeling_item AS item SET status%",
    "claim": "WITH candidate AS%",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=3_000)
    parser.add_argument("--labelers", type=int, default=6)
    parser.add_argument("--pg-port", type=int, required=True)
    parser.add_argument("--database", default="quorum_bench_wal")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    use_postgres_port(args.pg_port, args.database)
    setup_django_in_process(eager=True)
    from django.db import connection
    from django.test import Client

    from labeling.data.services.imports import import_run, import_stage_manifest
    from labeling.models import Item, Role
    from labeling.services.jobs import job_create, job_start
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create

    def sql(statement: str, params: list | None = None) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(statement, params or [])
            return cursor.fetchall() if cursor.description else []

    manager, _, _ = user_create(username="wal-manager", role=Role.MANAGER)
    team = team_create(name="wal-team")
    job = job_create(
        created_by=manager,
        name="wal-job",
        task_type="text-classification",
        labels=LABELS,
        team=team,
        workers_per_item=3,
    )
    lines = (
        json.dumps({"source": f"Review {i}: it works as described, mostly."}) + "\n"
        for i in range(args.items)
    )
    lsn_start = sql("SELECT pg_current_wal_lsn()")[0][0]
    started = time.perf_counter()
    run = import_stage_manifest(job=job, created_by=manager, chunks=(li.encode() for li in lines))
    import_run(import_id=run.pk)  # eager: the search text's fill runs after its commit
    import_seconds = time.perf_counter() - started
    import_wal = sql("SELECT pg_current_wal_lsn() - %s::pg_lsn", [lsn_start])[0][0]
    job.refresh_from_db()
    job_start(job=job, by=manager)
    clients = []
    for index in range(args.labelers):
        _, token, _ = user_create(username=f"w{index}", role=Role.LABELER, team=team)
        clients.append(Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1"))

    def one_answer(client: Client) -> None:
        response = client.post(f"/api/v1/jobs/{job.pk}/tasks/next")
        assert response.status_code == 200, response.content
        lease = response.json()["assignment_id"]
        response = client.post(
            f"/api/v1/assignments/{lease}/submit",
            data={"answer": {"label": LABELS[lease % len(LABELS)]}},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

    for index in range(WARMUP_ANSWERS):
        one_answer(clients[index % len(clients)])
    sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    sql("CHECKPOINT")  # full-page images start from the same point on every side
    sql("SELECT pg_stat_statements_reset()")
    sql("SELECT pg_stat_reset()")
    lsn = sql("SELECT pg_current_wal_lsn()")[0][0]
    for index in range(args.answers):
        one_answer(clients[index % len(clients)])
    wal = sql("SELECT pg_current_wal_lsn() - %s::pg_lsn", [lsn])[0][0]
    time.sleep(1)  # the statistics collector's last report
    statements = {}
    for name, pattern in STATEMENTS.items():
        rows = sql(
            "SELECT sum(calls), sum(shared_blks_hit + shared_blks_read) / sum(calls), "
            "sum(shared_blks_dirtied) / sum(calls), sum(wal_records) / sum(calls), "
            "sum(wal_bytes) / sum(calls), sum(total_exec_time) / sum(calls) "
            "FROM pg_stat_statements WHERE query LIKE %s",
            [pattern],
        )
        calls, buffers, dirtied, records, wal_bytes, mean_ms = rows[0]
        if calls:
            statements[name] = {
                "calls": int(calls),
                "buffers_per_call": round(float(buffers), 1),
                "dirtied_per_call": round(float(dirtied), 2),
                "wal_records_per_call": round(float(records), 1),
                "wal_bytes_per_call": round(float(wal_bytes)),
                "mean_ms": round(float(mean_ms), 3),
            }
    tables = sql(
        "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
        "WHERE relname IN ('labeling_item', 'labeling_itemtext')"
    )
    # The consolidation's item update on open items, rolled back: its plan's buffers and WAL.
    open_items = list(
        Item.objects.filter(job=job, status="open")
        .order_by("-id")
        .values_list("id", flat=True)[:EXPLAINED_ITEMS]
    )
    explained = []
    for item_id in open_items:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) UPDATE labeling_item "
                "SET status = 'labeled' WHERE id = %s",
                [item_id],
            )
            plan = cursor.fetchone()[0][0]
            cursor.execute("ROLLBACK")
        top = plan["Plan"]
        explained.append(
            (
                top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
                top.get("WAL Records", 0),
                top.get("WAL Bytes", 0),
                plan["Execution Time"],
            )
        )
    count = len(explained) or 1
    out = {
        "items": args.items,
        "answers": args.answers,
        "import_seconds": round(import_seconds, 2),
        "import_wal_bytes_per_item": round(int(import_wal) / args.items),
        "wal_bytes_per_answer": round(int(wal) / args.answers),
        "statements": statements,
        "tables": {name: {"updates": upd, "hot_updates": hot} for name, upd, hot in tables},
        "explain_item_update": {
            "items": len(explained),
            "buffers": round(sum(e[0] for e in explained) / count, 1),
            "wal_records": round(sum(e[1] for e in explained) / count, 1),
            "wal_bytes": round(sum(e[2] for e in explained) / count),
            "execution_ms": round(sum(e[3] for e in explained) / count, 3),
        },
        "database": _harness.DATABASE_URL.rsplit("/", 1)[-1],
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
