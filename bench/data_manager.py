"""Benchmark of the data manager (issue 14) on PostgreSQL: a 1,000,000-item job, 3 answers an item.

Builds the job with bulk SQL (``INSERT … SELECT generate_series``) in its own database, then
times ``GET /api/v1/jobs/{id}/items`` in process (Django's test client: routing, permission,
selector, serializer; no network): the first page with no filter, with each single filter and
with text search, and the next page (keyset cursor) of each; p50 and p95 over ``--repeat``
requests after a warm-up. Last, one bulk action (set priority) over 100,000 items selected by
a filter, run by a real Celery worker, its progress polled as the page polls it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/quorum_t14dm \
    REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/data_manager.py [--items 1000000] [--reuse]

Prints one JSON object and appends a row to bench/RESULTS.md.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Not DEBUG: Django would keep and format every query's text.
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django  # noqa: E402

django.setup()

from _harness import command_line, git_commit, record  # noqa: E402
from _probes import machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from labeling.models import BulkAction, Job, Role, User  # noqa: E402
from labeling.services.jobs import job_create  # noqa: E402
from labeling.services.users import user_create  # noqa: E402
from labeling.workforces.services.teams import team_create  # noqa: E402

JOB_NAME = "data-manager-bench"
WORKERS = 30
TOPICS = [
    "battery", "screen", "delivery", "price", "keyboard", "camera", "speaker", "charger",
    "warranty", "packaging", "colour", "size", "weight", "manual", "software", "update",
    "bluetooth", "wifi", "storage", "memory", "display", "sound", "case", "strap", "lens",
    "button", "cable", "adapter", "remote", "mount", "stand", "fan", "motor", "blade", "filter",
    "pump", "valve", "handle", "lid", "wheel", "brake", "seat", "light", "sensor", "timer",
    "alarm", "lock", "hinge", "spring", "zipper",
]  # fmt: skip
TARGET_P95_MS = 200.0
# Sorts timed by default; "agreement" (a share computed per item: the sort reads the whole job,
# 15–20 s at a million items) only with --only sort=agreement.
SORTS = ("label", "confidence", "source", "reviewed", "gold", "last_activity")
TARGET_BULK_SECONDS = 30.0
BULK_GROUP = "g3"  # one tenth of the items: 100,000 of a million


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query")
    parser.add_argument("--reuse", action="store_true", help="keep a job built by a last run")
    parser.add_argument("--no-bulk", action="store_true", help="skip the bulk action")
    parser.add_argument("--no-record", action="store_true", help="print only")
    parser.add_argument("--build-only", action="store_true", help="build the job and stop")
    parser.add_argument(
        "--only", default="", help="comma-separated parts of the query names to time (all)"
    )
    return parser.parse_args(argv)


# --- Building the job ---------------------------------------------------------------------------


def _sql(statement: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


def build(items: int) -> tuple[Job, User]:
    """The job, its items, 3 answers an item (leases and annotations), labels, gold: bulk SQL."""
    manager = User.objects.filter(username="dm-bench-pm").first()
    if manager is None:
        manager, _, _ = user_create(username="dm-bench-pm", role=Role.MANAGER, password=None)
    Job.objects.filter(name=JOB_NAME).delete()
    team = team_create(name=f"dm-bench-team-{time.time_ns()}")
    workers = []
    for n in range(WORKERS):
        user = User.objects.filter(username=f"dm-w{n}").first()
        if user is None:
            user, _, _ = user_create(username=f"dm-w{n}", role=Role.LABELER, team=team)
        workers.append(user.pk)
    job = job_create(
        created_by=manager,
        name=JOB_NAME,
        task_type="text-classification",
        labels=["positive", "negative", "neutral"],
        team=team,
        workers_per_item=3,
        label_attribute_name="sentiment",
    )
    started = time.perf_counter()
    # The text index is built once after the rows rather than grown row by row (minutes).
    _sql("DROP INDEX IF EXISTS item_search_text_trgm")
    topics = "ARRAY[" + ",".join(f"'{t}'" for t in TOPICS) + "]"
    # Items: 1 in 20 labeled by a model (no answers), 1 in 10 open (0-2 answers), the rest
    # labeled by 3 answers. Text: a topic word (1 in 50) and a group (1 in 10) to search for.
    _sql(
        f"""
        INSERT INTO labeling_item (job_id, data, priority, status, taken, answers, extra_slots,
                                   review_requested, thumbnail)
        SELECT %s,
               '{{"source": "Review ' || i || ' of the ' || ({topics})[1 + i %% 50]
                 || ': it works as described, mostly.", "group": "g' || (i %% 10) || '"}}',
               CASE WHEN i %% 1000 = 0 THEN 5 ELSE 0 END,
               CASE WHEN i %% 10 = 7 THEN 'open' ELSE 'labeled' END,
               CASE WHEN i %% 20 = 0 THEN 0 WHEN i %% 10 = 7 THEN i %% 3 ELSE 3 END,
               CASE WHEN i %% 20 = 0 THEN 0 WHEN i %% 10 = 7 THEN i %% 3 ELSE 3 END,
               0, i %% 500 = 0, ''
        FROM generate_series(1, %s) AS i
        """,
        [job.pk, items],
    )
    first_id = _first_item_id(job.pk)
    # Leases, then the answers on them: answer k of item n by worker (7n + 11k) mod 30 (three
    # distinct workers), the right class (n mod 3) but one answer in ten.
    _sql(
        """
        INSERT INTO labeling_assignment (job_id, item_id, worker_id, status, leased_at,
                                         expires_at, finished_at)
        SELECT item.job_id, item.id, (%s::bigint[])[1 + ((item.id - %s) * 7 + k * 11) %% 30],
               'submitted', now() - interval '30 days' + (item.id - %s) * interval '2 seconds',
               now(), now() - interval '30 days' + (item.id - %s) * interval '2 seconds'
                       + interval '20 seconds'
        FROM labeling_item AS item CROSS JOIN generate_series(0, 2) AS k
        WHERE item.job_id = %s AND k < item.answers
        """,
        [workers, first_id, first_id, first_id, job.pk],
    )
    _sql(
        """
        INSERT INTO labeling_annotation (assignment_id, job_id, item_id, worker_id, answer, label,
                                         accepted_at, submitted_at, time_spent_seconds)
        SELECT lease.id, lease.job_id, lease.item_id, lease.worker_id,
               jsonb_build_object('label', chosen.label), chosen.label,
               lease.leased_at, lease.finished_at, 20
        FROM labeling_assignment AS lease
        CROSS JOIN LATERAL (
            SELECT (ARRAY['positive','negative','neutral'])[
                1 + ((lease.item_id - %s) %% 3
                     + CASE WHEN (lease.id * 13) %% 10 = 0 THEN 1 ELSE 0 END) %% 3] AS label
        ) AS chosen
        WHERE lease.job_id = %s
        """,
        [first_id, job.pk],
    )
    # Consolidated labels: the majority of the answers, its share as the confidence; a model's
    # label with its confidence on the items without answers.
    _sql(
        """
        INSERT INTO labeling_consolidatedlabel (item_id, job_id, value, label, confidence,
                                                method, human_annotated, answers_count,
                                                created_at)
        SELECT votes.item_id, %s, jsonb_build_object('label', votes.label), votes.label,
               votes.n / 3.0, CASE WHEN votes.item_id %% 997 = 0 THEN 'manual' ELSE 'majority' END,
               true, 3, now() - interval '29 days'
        FROM (
            SELECT DISTINCT ON (item_id) item_id, label, count(*) AS n
            FROM labeling_annotation WHERE job_id = %s
            GROUP BY item_id, label ORDER BY item_id, count(*) DESC, label
        ) AS votes
        JOIN labeling_item AS item ON item.id = votes.item_id AND item.status = 'labeled'
        """,
        [job.pk, job.pk],
    )
    _sql(
        """
        INSERT INTO labeling_consolidatedlabel (item_id, job_id, value, label, confidence,
                                                method, human_annotated, answers_count,
                                                created_at)
        SELECT item.id, item.job_id, '{"label": "positive"}', 'positive',
               0.9 + (item.id %% 10) / 100.0, 'auto', false, 0, now() - interval '29 days'
        FROM labeling_item AS item
        WHERE item.job_id = %s AND item.status = 'labeled' AND item.answers = 0
        """,
        [job.pk],
    )
    _sql(
        """
        INSERT INTO labeling_golditem (item_id, job_id, label, purpose, created_at)
        SELECT item.id, item.job_id, consolidated.label, 'queue', now()
        FROM labeling_item AS item
        JOIN labeling_consolidatedlabel AS consolidated ON consolidated.item_id = item.id
        WHERE item.job_id = %s AND item.id %% 100 = 1
        """,
        [job.pk],
    )
    _sql(
        """
        UPDATE labeling_jobcounter SET
            items_labeled = (SELECT count(*) FROM labeling_item
                             WHERE job_id = %s AND status = 'labeled'),
            answers = (SELECT count(*) FROM labeling_annotation WHERE job_id = %s)
        WHERE job_id = %s AND shard = 0
        """,
        [job.pk, job.pk, job.pk],
    )
    Job.objects.filter(pk=job.pk).update(items_total=items, status="in_progress")
    # The search text (issue 20: a table of its own), as the fill after an import writes it.
    _sql(
        "INSERT INTO labeling_itemtext (item_id, text) "
        "SELECT id, data FROM labeling_item WHERE job_id = %s",
        [job.pk],
    )
    _sql(
        "CREATE INDEX IF NOT EXISTS item_search_text_trgm ON labeling_itemtext "
        "USING gin (UPPER(text) gin_trgm_ops) WITH (gin_pending_list_limit = 256)"
    )
    for table in (
        "labeling_item",
        "labeling_itemtext",
        "labeling_assignment",
        "labeling_annotation",
        "labeling_consolidatedlabel",
        "labeling_golditem",
    ):
        _sql(f"VACUUM ANALYZE {table}")
    print(f"built {items} items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    job.refresh_from_db()
    return job, manager


def _first_item_id(job_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM labeling_item WHERE job_id = %s", [job_id])
        return cursor.fetchone()[0]


# --- Timing pages -------------------------------------------------------------------------------


def queries(job: Job) -> dict[str, dict[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(submitted_at) - interval '1 day' FROM labeling_annotation"
            " WHERE job_id = %s",
            [job.pk],
        )
        recent = cursor.fetchone()[0]
    return {
        "no filter": {},
        "status=open": {"status": "open"},
        "answers=1": {"answers": "1"},
        "priority_min=1": {"priority_min": "1"},
        "label=negative": {"label": "negative"},
        "confidence_max=0.7": {"confidence_max": "0.7"},
        "source=machine": {"source": "machine"},
        "gold=yes": {"gold": "yes"},
        "agreement_max=0.7": {"agreement_max": "0.7"},
        "reviewed=yes": {"reviewed": "yes"},
        "review_requested=yes": {"review_requested": "yes"},
        "active_after=last day": {"active_after": recent.isoformat()},
        "worker=dm-w7": {"worker": "dm-w7"},
        "disagreement=yes": {"disagreement": "yes"},
        "q=battery (1 in 50)": {"q": "battery"},
        "q=Review 123456 (1 item)": {"q": "Review 123456 "},
        # Every sort on a column of the label or the answers, both ways (r2-dmperf).
        **{
            f"sort={way}{column}": {"sort": f"{way}{column}"}
            for column in (*SORTS, "agreement")
            for way in ("", "-")
        },
    }


CPU_MS: list[float] = []  # this process's CPU time of each timed request


def _timed(client: Client, url: str, params: dict[str, str]) -> tuple[float, dict]:
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, params)
    elapsed = (time.perf_counter() - started) * 1000
    CPU_MS.append((time.process_time() - cpu) * 1000)
    assert response.status_code == 200, response.content[:300]
    return elapsed, response.json()


def _p(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))], 1)


def _db_execution_ms(client: Client, url: str, params: dict[str, str]) -> float:
    """PostgreSQL's own execution time of the page's queries (EXPLAIN ANALYZE): what the
    database spends, apart from Python and from waiting for a CPU on a busy machine."""
    with CaptureQueriesContext(connection) as captured:
        client.get(url, params)
    total = 0.0
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            read = "labeling_item" in sql or "labeling_annotation" in sql
            if not read or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            total += cursor.fetchone()[0][0]["Execution Time"]
    return round(total, 1)


def time_pages(job: Job, manager: User, repeat: int, only: str = "") -> dict[str, Any]:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    url = f"/api/v1/jobs/{job.pk}/items"
    out = {}
    wanted = [part for part in only.split(",") if part]
    for name, params in queries(job).items():
        if wanted and not any(part in name for part in wanted):
            continue
        if not wanted and "agreement" in params.get("sort", ""):
            continue
        for _ in range(2):
            _, body = _timed(client, url, params)
        CPU_MS.clear()
        first = [_timed(client, url, params)[0] for _ in range(repeat)]
        cpu = _p(CPU_MS, 0.5)
        cursor = body["next_cursor"]
        rows = len(body["results"])
        following = []
        if cursor:
            for _ in range(repeat):
                elapsed, _ = _timed(client, url, {**params, "cursor": cursor})
                following.append(elapsed)
        out[name] = {
            "rows": rows,
            "db_ms": _db_execution_ms(client, url, params),
            "python_cpu_p50_ms": cpu,
            "first_p50_ms": _p(first, 0.5),
            "first_p95_ms": _p(first, 0.95),
            "next_p50_ms": _p(following, 0.5) if following else None,
            "next_p95_ms": _p(following, 0.95) if following else None,
        }
        print(name, out[name], file=sys.stderr)
    return out


# --- The bulk action ----------------------------------------------------------------------------


def run_bulk(job: Job, manager: User) -> dict[str, Any]:
    """Set the priority of the 100,000 items of one group, run by a real Celery worker."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    (REPO / "bench" / "out").mkdir(exist_ok=True)  # git-ignored
    log = open(REPO / "bench" / "out" / "data-manager-celery.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "warning"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(6)  # the worker connects to the broker
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(manager)
        filters = {"q": f'"group": "{BULK_GROUP}"'}
        # A priority the group does not have yet: rows already set are not rewritten, so a
        # second run with the same value would time nothing.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT priority FROM labeling_item WHERE job_id = %s AND UPPER(data) LIKE %s"
                " LIMIT 1",
                [job.pk, f'%"GROUP": "{BULK_GROUP.upper()}"%'],
            )
            current = cursor.fetchone()[0]
        priority = 8 if current == 7 else 7
        started = time.perf_counter()
        response = client.post(
            f"/api/v1/jobs/{job.pk}/bulk-actions",
            {
                "kind": "priority",
                "selection": {"filters": filters},
                "params": {"priority": priority},
            },
            content_type="application/json",
        )
        accepted = time.perf_counter() - started
        assert response.status_code == 202, response.content
        action_id = response.json()["id"]
        samples = []
        while True:
            body = client.get(f"/api/v1/jobs/{job.pk}/bulk-actions/{action_id}").json()
            samples.append((round(time.perf_counter() - started, 2), body["done"]))
            if body["status"] in ("succeeded", "failed"):
                break
            if time.perf_counter() - started > 300:
                raise TimeoutError("the bulk action did not finish in 300 s")
            time.sleep(0.5)
        action = BulkAction.objects.get(pk=action_id)
        seconds = (action.finished_at - action.created_at).total_seconds()
        return {
            "kind": "priority",
            "priority": f"{current} -> {priority}",
            "selected": action.total,
            "status": action.status,
            "post_seconds": round(accepted, 2),
            "seconds": round(seconds, 2),
            "progress_samples": samples[:: max(1, len(samples) // 12)] + samples[-1:],
        }
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        log.close()


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    call_command("migrate", verbosity=0)
    job = Job.objects.filter(name=JOB_NAME).first()
    manager = User.objects.filter(username="dm-bench-pm").first()
    if not (args.reuse and job and job.items_total == args.items and manager):
        job, manager = build(args.items)
    if args.build_only:
        return
    pages = time_pages(job, manager, args.repeat, args.only)
    bulk = None if args.no_bulk else run_bulk(job, manager)
    worst = (
        max(
            max(row["first_p95_ms"], row["next_p95_ms"] or 0)
            for name, row in pages.items()
            if not name.startswith("sort=")
        )
        if any(not name.startswith("sort=") for name in pages)
        else None
    )
    figures = {
        "machine": machine(),
        "code": git_commit(),
        "database": settings.DATABASES["default"]["NAME"],
        "items": args.items,
        "load_average_1min": round(os.getloadavg()[0], 1),
        "pages": pages,
        "worst_filter_p95_ms": worst,
        "bulk": bulk,
        "targets": {"page_p95_ms": TARGET_P95_MS, "bulk_seconds": TARGET_BULK_SECONDS},
    }
    parts = [f"{name}: {row['first_p95_ms']}/{row['next_p95_ms']}" for name, row in pages.items()]
    summary = (
        f"{args.items} items, 3 answers each; p95 ms first/next page: "
        + "; ".join(parts)
        + f"; worst filter p95 {worst} ms (target {TARGET_P95_MS:.0f})"
    )
    if bulk:
        summary += (
            f"; bulk priority on {bulk['selected']} items in Celery: {bulk['seconds']} s "
            f"({bulk['status']}, target {TARGET_BULK_SECONDS:.0f} s)"
        )
    record(command_line(), summary, figures, write=not args.no_record)


if __name__ == "__main__":
    main(sys.argv[1:])
