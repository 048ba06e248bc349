"""bench/pipelines.py's hooks scenario (issue 16): a pre-annotation hook over N items.

A job names a pre-annotation hook that points at a fast threaded HTTP receiver in this
process; N items are imported (the import runs on a real Celery worker, as in production);
the import's end queues the hook's chunks (``QUORUM_HOOK_CHUNK_ITEMS`` items per task, called
``QUORUM_HOOK_CONCURRENCY`` at once by each task's thread pool). Measured: items/s from the
staging of the import to the moment no item is held any more (every item hooked and
released), and the hook phase alone (from the end of the import). Target: ≥ 500 items/s.

It uses its own PostgreSQL database (``--hooks-database``, dropped and created) and Redis
database (``--hooks-redis-db``), not the shared bench ones.
"""

import argparse
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import _harness
import psycopg
import redis
from _probes import PG_ADMIN_URL, machine


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """This scenario's options (prefix them with --hooks-)."""
    group.add_argument("--hooks-items", type=int, default=100_000)
    group.add_argument("--hooks-database", default="quorum_p16hooks_bench")
    group.add_argument("--hooks-redis-db", type=int, default=4)
    group.add_argument("--hooks-worker-processes", type=int, default=2)
    group.add_argument("--hooks-concurrency", type=int, default=32, help="calls at once per task")
    group.add_argument("--hooks-chunk", type=int, default=1000, help="items per Celery task")
    group.add_argument("--hooks-timeout", type=float, default=1800.0)


class _Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits = 0
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - the stdlib's name
        event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(
            {
                "taskInput": {"taskObject": event["dataObject"]["source"].upper()},
                "isHumanAnnotationRequired": "true",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with _Receiver.lock:
            _Receiver.hits += 1

    def log_message(self, *args):
        pass


def _reset(database: str, redis_url: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


def run(args: argparse.Namespace) -> dict:
    database_url = f"postgres://postgres@127.0.0.1:5432/{args.hooks_database}"
    redis_url = f"redis://127.0.0.1:6379/{args.hooks_redis_db}"
    env = _harness.server_env(database_url=database_url, redis_url=redis_url)
    env.update(
        QUORUM_OUTBOUND_ALLOW="127.0.0.0/8",
        QUORUM_HOOK_CONCURRENCY=str(args.hooks_concurrency),
        QUORUM_HOOK_CHUNK_ITEMS=str(args.hooks_chunk),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    )
    _reset(args.hooks_database, redis_url)
    _harness.manage("migrate", "--no-input", env=env)
    logs = _harness.OUT / "logs" / "pipe-hooks"
    logs.mkdir(parents=True, exist_ok=True)
    (_harness.OUT / "var").mkdir(parents=True, exist_ok=True)
    worker = subprocess.Popen(
        [
            _harness.PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency",
            str(args.hooks_worker_processes),
            "--loglevel",
            "WARNING",
        ],  # fmt: skip
        cwd=_harness.APP_DIR,
        env=env,
        stdout=(logs / "celery.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.chdir(_harness.APP_DIR)
        sys.path.insert(0, str(_harness.APP_DIR))
        import django

        django.setup()
        return _measure(args, f"http://127.0.0.1:{server.server_address[1]}/hook", worker)
    finally:
        server.shutdown()
        _harness.stop_group(worker)


def _measure(args: argparse.Namespace, url: str, worker: subprocess.Popen) -> dict:
    from labeling.data.services.imports import import_stage_manifest
    from labeling.models import ImportRun, Item, Role
    from labeling.pipelines.services.hooks import hook_create, job_hooks_set
    from labeling.services.jobs import job_create
    from labeling.services.users import user_create
    from labeling.workforces.services.teams import team_create

    manager, _, _ = user_create(username="pm", role=Role.MANAGER, password="bench-pass-123")
    team = team_create(name="hooks")
    job = job_create(
        created_by=manager, name="hooked", task_type="text-classification",
        labels=["a", "b"], team=team,
    )  # fmt: skip
    hook = hook_create(owner=manager, name="prep", url=url, timeout_seconds=10).hook
    job_hooks_set(job=job, by=manager, pre_hook_id=hook.pk, consolidation_hook_id=None)
    n = args.hooks_items
    body = "".join(
        json.dumps({"source": f"item number {i}", "n": i}) + "\n" for i in range(n)
    ).encode()
    started = time.monotonic()
    run = import_stage_manifest(job=job, created_by=manager, chunks=[body])
    imported_at = None
    deadline = started + args.hooks_timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit("the Celery worker exited; see bench/out/logs/pipe-hooks")
        status = ImportRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()
        if status == "failed":
            raise SystemExit("the import failed")
        if status == "succeeded":
            imported_at = imported_at or time.monotonic()
            if not Item.objects.filter(job=job, status="held").exists():
                break
        time.sleep(0.2)
    else:
        raise SystemExit(f"not every item was hooked within {args.hooks_timeout} s")
    finished = time.monotonic()
    opened = Item.objects.filter(job=job, status="open").count()
    total = finished - started
    hooking = finished - imported_at
    load = Path("/proc/loadavg").read_text().split()[:3]
    figures = {
        "items": n,
        "items_open": opened,
        "receiver_hits": _Receiver.hits,
        "seconds_total": round(total, 2),
        "seconds_import": round(imported_at - started, 2),
        "seconds_hooking": round(hooking, 2),
        "items_per_second": round(n / total, 1),
        "items_per_second_hooking": round(n / hooking, 1),
        "worker_processes": args.hooks_worker_processes,
        "calls_at_once_per_task": args.hooks_concurrency,
        "chunk": args.hooks_chunk,
        "loadavg_after": " ".join(load),
        "machine": machine(),
    }
    figures["summary"] = (
        f"{n} items pre-annotated at {figures['items_per_second']} items/s from import to all "
        f"hooked ({figures['items_per_second_hooking']} items/s for the hook phase), "
        f"{args.hooks_worker_processes} worker processes x {args.hooks_concurrency} calls, "
        f"load {load[0]}"
    )
    return figures
