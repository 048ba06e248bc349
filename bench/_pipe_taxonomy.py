"""bench/pipelines.py's taxonomy scenario (issue 16): cat/dog -> baby/adult over 10,000 items.

A real stack (gunicorn + a Celery worker, on a PostgreSQL cluster of the bench's own and the
bench's Redis database) holds a two-level taxonomy defined through ``POST /api/v1/taxonomies``:
the level-1 job (cat/dog) over 10,000 imported items, and one level-2 job per animal
(baby/adult). Simulated labelers answer the level-1 job through the REST API (claim, submit);
every consolidated item is passed on to its animal's job by the chain (an after-commit event,
a Celery task). The figure is, for every item, the delay from its level-1 label's
consolidation (``ConsolidatedLabel.created_at``) to its arrival in the level-2 job (the
passage row written in the transaction that creates the child item): p50 / p99 / max, target
p99 <= 5 s.
"""

import argparse
import threading
import time
from pathlib import Path
from typing import Any

import _harness
from _harness import Client, Stack, WebConfig, expect
from _pgcluster import OwnPostgres

TARGET_P99_SECONDS = 5.0
DB_NAME = "quorum_bench_taxonomy"
PG_PORT = 8402  # the bench's own cluster, in this scenario's port range (8401-8409)
WEB_PORT = 8401
REDIS_URL = "redis://127.0.0.1:6379/1"
DEFINITION = {
    "labels": ["cat", "dog"],
    "children": {"cat": {"labels": ["baby", "adult"]}, "dog": {"labels": ["baby", "adult"]}},
}


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """This scenario's options (prefix them with --taxonomy-)."""
    group.add_argument("--taxonomy-items", type=int, default=10_000)
    group.add_argument("--taxonomy-labelers", type=int, default=8)
    group.add_argument("--taxonomy-web", default="gthread:2x4", help="gunicorn workers")
    group.add_argument("--taxonomy-celery", type=int, default=2, help="Celery concurrency")
    group.add_argument(
        "--taxonomy-timeout", type=float, default=1800, help="give up after this many seconds"
    )


def _labeler(port: int, token: str, job_id: int, stop: threading.Event, errors: list) -> None:
    client = Client(port, token)
    try:
        while not stop.is_set():
            status, body, _ = client.call("POST", f"/api/v1/jobs/{job_id}/tasks/next")
            if status == 204:
                return
            if status == 200:
                assignment_id = body["assignment_id"]
                number = int(body["item"]["data"].get("n", assignment_id))
            elif status == 409 and body["error"]["code"] == "too_many_leases":
                assignment_id = number = body["error"]["details"]["assignments"][0]
            else:
                errors.append(f"next:{status}")
                stop.wait(0.05)
                continue
            # The animal follows the item's number, so both level-2 jobs get items.
            label = "cat" if number % 2 == 0 else "dog"
            status, body, _ = client.call(
                "POST", f"/api/v1/assignments/{assignment_id}/submit", {"answer": {"label": label}}
            )
            if status != 201:
                errors.append(f"submit:{status}")
    except Exception as exc:  # reported, never hides the run
        errors.append(f"exception:{type(exc).__name__}:{str(exc)[:80]}")
    finally:
        client.close()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _delays(database_url: str) -> list[float]:
    with _harness.db_connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT EXTRACT(EPOCH FROM (passage.passed_at - label.created_at))
            FROM labeling_chainpassage AS passage
            JOIN labeling_consolidatedlabel AS label ON label.item_id = passage.parent_item_id
            WHERE passage.status = 'passed'
            """
        ).fetchall()
    return [float(row[0]) for row in rows]


def _passed(database_url: str) -> int:
    with _harness.db_connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM labeling_chainpassage WHERE status = 'passed'"
        ).fetchone()[0]


def run(args: argparse.Namespace) -> dict:
    items = args.taxonomy_items
    cluster = OwnPostgres(_harness.OUT / f"pg-{PG_PORT}", PG_PORT)
    free_port = _harness.free_port
    _harness.free_port = lambda: WEB_PORT  # noqa: E731 - this scenario's own port
    try:
        with cluster:
            database_url = cluster.database_url(DB_NAME)
            admin_url = cluster.admin_url
            original = _harness.DB_NAME
            _harness.DB_NAME = DB_NAME  # reset_database and terminate_backends use it
            try:
                with Stack(
                    WebConfig.parse(args.taxonomy_web),
                    celery_concurrency=args.taxonomy_celery,
                    database_url=database_url,
                    admin_url=admin_url,
                    redis_url=REDIS_URL,
                    postgres_pids=cluster.pids,
                    name="pipe-taxonomy",
                ) as stack:
                    return _measure(stack, database_url, items, args)
            finally:
                _harness.DB_NAME = original
    finally:
        _harness.free_port = free_port


def _measure(stack: Stack, database_url: str, items: int, args: argparse.Namespace) -> dict:
    manager = Client(stack.port, stack.create_manager("bench-pm"))
    team_id = _harness.create_team(manager, "taxonomy-team")
    tokens = _harness.create_labelers(manager, team_id, "tax", args.taxonomy_labelers)
    status, body, _ = manager.call(
        "POST",
        "/api/v1/taxonomies",
        {
            "name": "pets",
            "team_id": team_id,
            "task_type": "text-classification",
            "definition": DEFINITION,
            "attributes": ["animal", "age"],
        },
    )
    root_id = expect(status, body, 201)["root_job"]
    imported = _harness.import_items(manager, root_id, items, database_url=database_url)
    _harness.start_job(manager, root_id)
    stop, errors = threading.Event(), []
    started = time.monotonic()
    threads = [
        threading.Thread(target=_labeler, args=(stack.port, token, root_id, stop, errors))
        for token in tokens
    ]
    for thread in threads:
        thread.start()
    deadline = started + args.taxonomy_timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    labeling_seconds = time.monotonic() - started
    while _passed(database_url) < items and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    status, graph, _ = manager.call("GET", f"/api/v1/jobs/{root_id}/chain")
    expect(status, graph, 200)
    delays = _delays(database_url)
    figures: dict[str, Any] = {
        "items": items,
        "labelers": len(tokens),
        "web": args.taxonomy_web,
        "celery_concurrency": args.taxonomy_celery,
        "import": imported,
        "labeling_seconds": round(labeling_seconds, 1),
        "submits_per_second": round(items / labeling_seconds, 1) if labeling_seconds else None,
        "passed": len(delays),
        "edges": [
            {k: edge[k] for k in ("child", "passed", "pending", "filtered_out", "withdrawn")}
            for edge in graph["edges"]
        ],
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
    }
    if delays:
        figures.update(
            delay_p50_s=round(_percentile(delays, 0.50), 3),
            delay_p99_s=round(_percentile(delays, 0.99), 3),
            delay_max_s=round(max(delays), 3),
            target_p99_s=TARGET_P99_SECONDS,
            target_met=_percentile(delays, 0.99) <= TARGET_P99_SECONDS,
        )
    figures["summary"] = (
        f"{len(delays)}/{items} items reached their level-2 job; delay from the level-1 label "
        f"p50/p99/max {figures.get('delay_p50_s')}/{figures.get('delay_p99_s')}/"
        f"{figures.get('delay_max_s')} s (target p99 <= {TARGET_P99_SECONDS} s), "
        f"{figures['submits_per_second']} submits/s by {len(tokens)} labelers, "
        f"{len(errors)} errors"
    )
    figures["logs"] = str(Path(stack.logs))
    return figures
