"""Shared machinery of the benchmarks: the server stack, an HTTP client, setup and /proc probes.

Everything talks to 127.0.0.1 only. The stack (gunicorn + a Celery worker) runs as child
processes in their own sessions, so stopping it kills each whole process group, and it is
stopped on normal exit, on an exception, on Ctrl-C and on SIGTERM.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
from _probes import DB_NAME, PG_ADMIN_URL
from _probes import postgres_pids as postgres_pids_default

REPO = Path(__file__).resolve().parent.parent
# The checkout whose code the server runs: this one, or another (a branch to compare) whose
# dependencies match this venv.
APP_DIR = Path(os.environ.get("BENCH_APP_DIR", REPO)).resolve()
BENCH = REPO / "bench"
OUT = BENCH / "out"  # git-ignored: logs, staged manifests, the server's var/ folder
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_DIR = BENCH / "results"
PYTHON = str(REPO / ".venv" / "bin" / "python")

DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/15"
HOST = "127.0.0.1"

READY_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 10
SERVER_KEEPALIVE_SECONDS = 5
# The client drops a connection idle for longer than this, before the server closes it.
CLIENT_IDLE_LIMIT_SECONDS = SERVER_KEEPALIVE_SECONDS - 1
IMPORT_TIMEOUT_SECONDS = 900
UPLOAD_BLOCK_BYTES = 1 << 20


# --- Processes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebConfig:
    """A gunicorn worker configuration, written ``gthread:2x8`` or ``sync:4``."""

    worker_class: str
    workers: int
    threads: int

    @classmethod
    def parse(cls, text: str) -> "WebConfig":
        match = re.fullmatch(r"(gthread|sync):(\d+)(?:x(\d+))?", text.strip())
        if not match:
            raise ValueError(f"web config {text!r}: write gthread:WxT or sync:W")
        kind, workers, threads = match.group(1), int(match.group(2)), int(match.group(3) or 1)
        return cls(kind, workers, 1 if kind == "sync" else threads)

    def __str__(self) -> str:
        if self.worker_class == "sync":
            return f"sync:{self.workers}"
        return f"gthread:{self.workers}x{self.threads}"


def use_commit(ref: str) -> str:
    """Run the server from a frozen copy of commit ``ref`` (others may be editing the tree).

    The copy (``git archive``) goes to bench/out/snapshots/<sha>; returns the short sha.
    """
    global APP_DIR
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = OUT / "snapshots" / sha[:12]
    if not (target / "manage.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
        (target / ".bench-commit").write_text(sha[:12] + "\n")
    APP_DIR = target
    return sha[:12]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_env(
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    log_level: str | None = "WARNING",
) -> dict[str, str]:
    """The server's environment; ``log_level`` None leaves the settings' default (INFO)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "QUORUM_"))}
    env.pop("LOG_LEVEL", None)
    env.update(
        DATABASE_URL=database_url or DATABASE_URL,
        REDIS_URL=redis_url or REDIS_URL,
        SECRET_KEY="bench",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        QUORUM_VAR_DIR=str(OUT / "var"),
        PYTHONUNBUFFERED="1",
    )
    if log_level:
        env["LOG_LEVEL"] = log_level
    env.pop("MEDIA_ROOT", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def setup_django_in_process(*, eager: bool = True) -> None:
    """Django in this process (no server) on a fresh bench database, Celery tasks eager
    (or, ``eager`` False, sent to the broker as a web process sends them): for the profiling
    scripts."""
    env = server_env()
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    if eager:
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    (OUT / "var").mkdir(parents=True, exist_ok=True)
    # Celery's Django fix-up puts the working directory first on sys.path: make it the app's.
    os.chdir(APP_DIR)
    sys.path.insert(0, str(APP_DIR))
    reset_database()
    manage("migrate", "--no-input", env=env)
    import django

    django.setup()


def print_profile(profiler: Any, top: int) -> None:
    """Print a cProfile's top functions by cumulative time, then by own time."""
    import io
    import pstats

    for order in ("cumulative", "tottime"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(top)
        print(stream.getvalue())


def terminate_backends(admin_url: str | None = None) -> None:
    """End the bench database's server processes: a query whose client died runs on."""
    with (
        suppress(psycopg.Error),
        psycopg.connect(admin_url or PG_ADMIN_URL, autocommit=True) as conn,
    ):
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        )


def reset_database(admin_url: str | None = None, redis_url: str | None = None) -> None:
    """Drop and recreate the bench database and empty the bench Redis database."""
    with psycopg.connect(admin_url or PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    client = redis.Redis.from_url(redis_url or REDIS_URL)
    client.flushdb()
    client.close()


def manage(*args: str, env: dict[str, str], app_dir: Path | None = None) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=app_dir or APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


class Stack:
    """gunicorn (``config.wsgi``) and a Celery worker against the bench database."""

    def __init__(
        self,
        web: WebConfig,
        *,
        celery_concurrency: int = 1,
        app_dir: Path | None = None,
        database_url: str | None = None,
        admin_url: str | None = None,
        redis_url: str | None = None,
        postgres_pids: Any = None,
        beat: bool = False,
        log_level: str | None = "WARNING",
        name: str = "",
    ):
        """``beat`` runs the Celery worker with an embedded beat (``-B``), as a deployment
        runs beat beside its workers; ``log_level`` None keeps the settings' default (INFO,
        what README's production commands give); ``postgres_pids`` a callable returning the
        database server's processes that work for this stack."""
        self.web_config = web
        self.celery_concurrency = celery_concurrency
        self.app_dir = app_dir or APP_DIR
        self.database_url = database_url or DATABASE_URL
        self.admin_url = admin_url or PG_ADMIN_URL
        self.redis_url = redis_url or REDIS_URL
        self.postgres_pids = postgres_pids or postgres_pids_default
        self.beat = beat
        self.log_level = log_level
        self.env = server_env(
            database_url=self.database_url, redis_url=self.redis_url, log_level=log_level
        )
        self.port = 0
        self.web: subprocess.Popen | None = None
        self.celery: subprocess.Popen | None = None
        self.logs = OUT / "logs" / name if name else OUT / "logs"

    # Lifecycle
    def __enter__(self) -> "Stack":
        install_signal_handlers()
        self.logs.mkdir(parents=True, exist_ok=True)
        (OUT / "var").mkdir(parents=True, exist_ok=True)
        try:
            reset_database(self.admin_url, self.redis_url)
            manage("migrate", "--no-input", env=self.env, app_dir=self.app_dir)
            self.start_celery()
            self.start_web(self.web_config)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        for name in ("web", "celery"):
            proc = getattr(self, name)
            if proc is not None:
                stop_group(proc)
                setattr(self, name, None)
        terminate_backends(self.admin_url)

    def _spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                argv, cwd=self.app_dir, env={**self.env, **env}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()

    def start_web(self, config: WebConfig) -> None:
        if self.web is not None:
            stop_group(self.web)
        self.web_config = config
        self.port = free_port()
        argv = [
            PYTHON, "-m", "gunicorn", "config.wsgi",
            "--bind", f"{HOST}:{self.port}",
            "--worker-class", config.worker_class,
            "--workers", str(config.workers),
            "--threads", str(config.threads),
            "--keep-alive", str(SERVER_KEEPALIVE_SECONDS),
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--worker-tmp-dir", "/dev/shm",
        ]  # fmt: skip
        self.web = self._spawn("gunicorn", argv)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.logs / 'gunicorn.log'}")
            with suppress(OSError, http.client.HTTPException):
                status, _, _ = Client(self.port).request("GET", "/healthz")
                if status == 200 and len(self.web_pids()) == config.workers:
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become healthy in time")

    def start_celery(self) -> None:
        log = self.logs / "celery.log"
        start_size = log.stat().st_size if log.exists() else 0
        argv = [
            PYTHON, "-m", "celery", "-A", "config", "worker",
            "--loglevel", "info",
            "--concurrency", str(self.celery_concurrency),
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        if self.beat:
            schedule = OUT / "var" / f"celerybeat-{self.logs.name}"
            argv += ["--beat", "--schedule", str(schedule)]
        # INFO, so that the worker logs the line that says it is ready.
        self.celery = self._spawn("celery", argv, LOG_LEVEL="INFO")
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.celery.poll() is not None:
                raise RuntimeError(f"the Celery worker exited; see {log}")
            with log.open("rb") as handle:
                handle.seek(start_size)
                if b" ready." in handle.read():
                    return
            time.sleep(0.2)
        raise RuntimeError("the Celery worker did not become ready in time")

    # Probes
    def web_pids(self) -> list[int]:
        """The gunicorn worker processes (the arbiter's children)."""
        return children_of(self.web.pid) if self.web else []

    def process_groups(self) -> dict[str, list[int]]:
        groups = {"gunicorn": [], "celery": [], "postgres": self.postgres_pids()}
        if self.web:
            groups["gunicorn"] = [self.web.pid, *self.web_pids()]
        if self.celery:
            groups["celery"] = [self.celery.pid, *children_of(self.celery.pid)]
        return groups

    def create_manager(self, name: str) -> str:
        out = manage("create_user", name, "--role", "manager", env=self.env, app_dir=self.app_dir)
        return out.strip().splitlines()[-1].strip()


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the child's whole process group, then SIGKILL what is left after a grace."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_GRACE_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_GRACE_SECONDS)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """SIGTERM unwinds like Ctrl-C does, so every ``with Stack()`` stops its children."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


# --- HTTP -----------------------------------------------------------------------------------


class Client:
    """One persistent (keep-alive) HTTP/1.1 connection to the server, as one user."""

    STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(self, port: int, token: str | None = None, timeout: float = 120):
        self.port = port
        self.timeout = timeout
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0
        self.reconnects = 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        if self.conn is not None and time.monotonic() - self.last_used > CLIENT_IDLE_LIMIT_SECONDS:
            self.close()
        fresh = self.conn is None
        if fresh:
            self.conn = http.client.HTTPConnection(
                HOST, self.port, timeout=self.timeout, blocksize=UPLOAD_BLOCK_BYTES
            )
        return self.conn, fresh

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, float]:
        """Send one request; return (status, body, seconds). A stale keep-alive is retried."""
        all_headers = {**self.headers, **(headers or {})}
        for attempt in range(2):
            conn, fresh = self._connection()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=all_headers)
                response = conn.getresponse()
                data = response.read()
            except self.STALE:
                self.close()
                # Only an idle connection the server dropped is retried: it saw no request.
                if fresh or attempt or not isinstance(body, bytes | str | None):
                    raise
                self.reconnects += 1
                continue
            elapsed = time.perf_counter() - started
            self.last_used = time.monotonic()
            if response.will_close:
                self.close()
            return response.status, data, elapsed
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, payload: Any = None) -> tuple[int, Any, float]:
        body = None if payload is None else json.dumps(payload)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data, elapsed = self.request(method, path, body, headers)
        parsed = json.loads(data) if data else None
        return status, parsed, elapsed


def expect(status: int, body: Any, *wanted: int) -> Any:
    if status not in wanted:
        raise RuntimeError(f"HTTP {status} (wanted {wanted}): {str(body)[:500]}")
    return body


# --- Setup through the REST API -------------------------------------------------------------

LABELS = ["positive", "negative", "neutral"]


def create_team(manager: Client, name: str) -> int:
    status, body, _ = manager.call("POST", "/api/v1/teams", {"name": name})
    return expect(status, body, 201)["id"]


def create_labelers(manager: Client, team_id: int, prefix: str, count: int) -> list[str]:
    tokens = []
    for index in range(count):
        status, body, _ = manager.call(
            "POST", "/api/v1/workers", {"username": f"{prefix}-{index:04d}", "team": team_id}
        )
        tokens.append(expect(status, body, 201, 200)["token"])
    return tokens


def create_job(manager: Client, name: str, team_id: int) -> dict[str, Any]:
    payload = {
        "name": name,
        "task_type": "text-classification",
        "labels": LABELS,
        "team": team_id,
        "workers_per_item": 3,
        "max_concurrent_tasks_per_worker": 1,
    }
    status, body, _ = manager.call("POST", "/api/v1/jobs", payload)
    return expect(status, body, 201)


def start_job(manager: Client, job_id: int) -> None:
    status, body, _ = manager.call("POST", f"/api/v1/jobs/{job_id}/start")
    expect(status, body, 200)


def manifest_file(count: int) -> Path:
    """A JSON Lines manifest of ``count`` text items, written once and reused."""
    folder = OUT / "manifests"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"items-{count}.jsonl"
    if path.exists():
        return path
    words = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "cat")
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for index in range(count):
            text = " ".join(words[(index + k) % len(words)] for k in range(8))
            out.write(json.dumps({"source": f"Item {index}: {text}", "n": index}) + "\n")
    partial.rename(path)
    return path


def manifest_chunks(count: int, chunk: int) -> list[Path]:
    """The manifest of ``count`` items cut into files of ``chunk`` lines (written once)."""
    whole = manifest_file(count)
    folder = OUT / "manifests" / f"items-{count}-by-{chunk}"
    done = folder / ".complete"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with whole.open("rb") as lines:
            part, out = 0, None
            for index, line in enumerate(lines):
                if index % chunk == 0:
                    if out is not None:
                        out.close()
                    out = (folder / f"part-{part:05d}.jsonl").open("wb")
                    part += 1
                out.write(line)
            if out is not None:
                out.close()
        done.write_text("")
    return sorted(folder.glob("part-*.jsonl"))


def _import_file(manager: Client, job_id: int, path: Path) -> dict[str, Any]:
    """POST one JSON Lines file and poll its import until it ends; the import run."""
    size = path.stat().st_size
    with path.open("rb") as body:
        status, data, _ = manager.request(
            "POST",
            f"/api/v1/jobs/{job_id}/items",
            body=body,
            headers={"Content-Type": "application/x-ndjson", "Content-Length": str(size)},
        )
    run = expect(status, json.loads(data), 202)
    deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        status, run, _ = manager.call("GET", f"/api/v1/imports/{run['id']}")
        expect(status, run, 200)
        if run["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    if run["status"] != "succeeded":
        raise RuntimeError(f"import failed or timed out: {json.dumps(run)[:1000]}")
    return run


def import_items(
    manager: Client,
    job_id: int,
    count: int,
    *,
    analyze: bool = False,
    chunk: int = 0,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Import ``count`` items as JSON Lines, one body or (``chunk``) one import per ``chunk``
    lines, each POSTed once the one before has succeeded; return the timings.

    ``analyze`` runs ANALYZE on the item table afterwards, as the proposed fix to the import
    service would (and as autovacuum would, later, where it is on).
    """
    paths = manifest_chunks(count, chunk) if chunk else [manifest_file(count)]
    started = time.perf_counter()
    runs = [_import_file(manager, job_id, path) for path in paths]
    total = time.perf_counter() - started
    analyze_seconds = None
    if analyze:
        analyze_started = time.perf_counter()
        with db_connect(database_url) as conn:
            conn.execute("ANALYZE labeling_item")
        analyze_seconds = round(time.perf_counter() - analyze_started, 2)
    worker_seconds = sum(
        (parse_time(run["finished_at"]) - parse_time(run["started_at"])).total_seconds()
        for run in runs
    )
    return {
        "items": sum(run["items_created"] for run in runs),
        "imports": len(runs),
        "bytes": sum(path.stat().st_size for path in paths),
        "worker_seconds": round(worker_seconds, 2),
        "total_seconds": round(total, 2),
        "items_per_second": round(count / total),
        "bench_analyze_seconds": analyze_seconds,
    }


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- Figures and the results file -----------------------------------------------------------


def git_commit() -> str:
    """The app's commit, +dirty if its Python code has changes (and the folder if not REPO)."""
    frozen = APP_DIR / ".bench-commit"
    if frozen.exists():
        return f"{frozen.read_text().strip()} (snapshot)"
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=APP_DIR, capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "config", "labeling"],
        cwd=APP_DIR,
        capture_output=True,
        text=True,
    )
    where = "" if APP_DIR == REPO else f" ({APP_DIR})"
    return (done.stdout.strip() or "no-git") + ("+dirty" if dirty.stdout.strip() else "") + where


RESULTS_HEADER = (
    "# Benchmark results\n\n"
    "One row per run, appended by the scripts (newest last). Full JSON of each run is in\n"
    "`bench/results/`. See `bench/README.md` for what each figure means.\n\n"
    "| date (UTC) | command | machine | code | figures |\n"
    "|---|---|---|---|---|\n"
)


def record(command: str, summary: str, figures: dict[str, Any], *, write: bool = True) -> None:
    """Print the figures as one JSON object and append a dated row to RESULTS.md."""
    stamp = datetime.now(UTC)
    figures = {"date": stamp.isoformat(timespec="seconds"), "command": command, **figures}
    print(json.dumps(figures))
    if not write:
        return
    RESULTS_DIR.mkdir(exist_ok=True)
    name = command.split()[0].replace("bench/", "").replace(".py", "")
    if figures.get("side"):  # the sides of one run are recorded in the same second
        name += f"-{figures['side']}"
    out = RESULTS_DIR / f"{stamp:%Y%m%dT%H%M%S}-{name}.json"
    out.write_text(json.dumps(figures, indent=2) + "\n")
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text(RESULTS_HEADER)
    row = (
        f"| {stamp:%Y-%m-%d %H:%M} | `{command}` | {figures['machine']} | "
        f"{figures.get('code', '')} | {summary} ([json](results/{out.name})) |\n"
    )
    with RESULTS_MD.open("a") as handle:
        handle.write(row)


def db_connect(url: str | None = None) -> psycopg.Connection:
    url = url or DATABASE_URL
    return psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True)


def command_line() -> str:
    return " ".join(["bench/" + Path(sys.argv[0]).name, *sys.argv[1:]])
