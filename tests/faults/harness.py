"""The fault harness: own PostgreSQL and Redis, `manage.py serve`, 20 labelers, one fault, checks.

Shared by tests/faults/test_faults.py (short phases) and bench/faults.py (longer phases). Nothing
here imports Django: the server runs as `manage.py serve` in child processes, the labelers talk
HTTP to it on loopback, and the checks read the database with psycopg directly.

Everything started here is stopped in ``finally`` blocks: PostgreSQL with ``pg_ctl stop``
(and SIGKILL of its postmaster), Redis and ``serve`` by their process groups, and any process
left in serve's session by its pid.
"""

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
HOST = "127.0.0.1"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

FAULTS = ("web-worker-kill", "celery-kill", "redis-restart", "postgres-restart")
LABELS = ["positive", "negative", "neutral"]
TEMPLATE_DB = "faults_template"
RUN_DB = "faults_run"
MANAGER = "fault-pm"

READY_TIMEOUT_SECONDS = 90
STOP_GRACE_SECONDS = 25
# The checks are done when serve is stopped: a short wait for a clean stop, then SIGKILL.
SERVE_STOP_WAIT_SECONDS = 5
IMPORT_TIMEOUT_SECONDS = 120
REDIS_OUTAGE_SECONDS = 3
# gunicorn's gthread workers close a keep-alive connection idle for 2 s; a labeler reconnects
# before that, so that a dropped connection is always the server's doing, never a race with it.
CLIENT_IDLE_LIMIT_SECONDS = 1.0
CLIENT_TIMEOUT_SECONDS = 15
RETRY_PAUSE_SECONDS = 0.2
# The lease sweeper (beat) runs this often in the server under test; the beat probe waits on it.
LEASE_SWEEP_SECONDS = 5
# The import the Celery-kill fault kills its worker in the middle of.
KILLED_IMPORT_ITEMS = 100_000


def missing_binaries() -> str | None:
    """Why the suite cannot run here (None if it can)."""
    for path in (PG_BIN / "initdb", PG_BIN / "pg_ctl", PG_BIN / "postgres", Path(REDIS_SERVER)):
        if not path.exists():
            return f"{path} is not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to run PostgreSQL as the postgres user"
    return None


@dataclass(frozen=True)
class Ports:
    postgres: int
    redis: int
    web: int


@dataclass(frozen=True)
class Phases:
    """How long each part of a run lasts, and the bounds the checks apply."""

    items: int = 20_000
    labelers: int = 20
    workers_per_item: int = 3
    before_seconds: float = 10
    after_seconds: float = 20
    recovery_limit_seconds: float = 30  # the worker and beat must be back within this
    probe_until_seconds: float = 30  # how long recovery is measured (≥ the limit)
    import_settle_seconds: float = 30  # imports must leave queued/running within this


# --- Processes ------------------------------------------------------------------------------


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _pids_in_session(session: int) -> list[int]:
    """Processes of session ``session`` (serve's, which its children and theirs inherit)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything under it: its process group if it leads one (serve
    starts each child in a group of its own), else the process and its descendants."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except ProcessLookupError:
        return
    pending, tree = [pid], []
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(_children(current))
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def _stop_group(proc: subprocess.Popen | None, grace: float = STOP_GRACE_SECONDS) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class Postgres:
    """A PostgreSQL 15 cluster of our own in a temporary folder, on its own port."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.dir = workdir / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    def url(self, db: str) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{db}"

    def _pg_ctl(self, *args: str, timeout: float = 60) -> None:
        argv = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args]
        done = subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"pg_ctl {' '.join(args)}: {done.stderr}{self._log_tail()}")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n" + self.log.read_text()[-2000:]
        return ""

    def start(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        subprocess.run(
            _as_postgres([*initdb, "-E", "UTF8", "--no-sync", "--locale", "C"]),
            capture_output=True,
            check=True,
            timeout=120,
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} -c fsync=off "
            "-c full_page_writes=off -c autovacuum=on -c max_connections=200"
        )
        self._pg_ctl("-w", "-o", options, "start")

    def restart(self) -> None:
        """A fast shutdown (clients disconnected, transactions rolled back) and a start."""
        self._pg_ctl("-w", "-m", "fast", "restart")

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5)

    def clone(self, template: str, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def create(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            return
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._pg_ctl("-w", "-m", "immediate", "stop", timeout=30)
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


class Redis:
    """A Redis of our own on its own port, without persistence: a restart loses everything."""

    def __init__(self, port: int, workdir: Path):
        self.port = port
        self.log = workdir / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", HOST, "--save", "",
                "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log.read_text()[-1000:]}")
            if self.ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer in time")

    def ping(self) -> bool:
        try:
            with socket_to(self.port) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def flush(self) -> None:
        with socket_to(self.port) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)

    def stop(self) -> None:
        _stop_group(self.proc, grace=10)
        self.proc = None

    def restart(self, outage: float = REDIS_OUTAGE_SECONDS) -> None:
        self.stop()
        time.sleep(outage)
        self.start()


def socket_to(port: int) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=2)


class Serve:
    """`manage.py serve`: gunicorn and a Celery worker with beat, as the product runs them."""

    def __init__(self, port: int, env: dict[str, str], log: Path):
        self.port = port
        self.env = env
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.groups: set[int] = set()  # every child process group seen

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "manage.py", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log_tail()}")
            self.remember_groups()
            if self.healthy() and self.worker_ready_lines() >= 1 and len(self.web_workers()) >= 1:
                return
            time.sleep(0.3)
        raise RuntimeError(f"serve did not come up in time: {self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-size:]
        return ""

    def worker_ready_lines(self) -> int:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace").count(" ready.")
        return 0

    def healthy(self) -> bool:
        try:
            status, _ = HttpClient(self.port).call("GET", "/healthz")
        except OSError:
            return False
        return status == 200

    def children(self) -> list[int]:
        return _children(self.proc.pid) if self.proc else []

    def remember_groups(self) -> None:
        self.groups.update(self.children())

    def gunicorn_master(self) -> int | None:
        return next((p for p in self.children() if "gunicorn" in _cmdline(p)), None)

    def web_workers(self) -> list[int]:
        master = self.gunicorn_master()
        return _children(master) if master else []

    def celery_worker(self) -> int | None:
        return next((p for p in self.children() if "celery" in _cmdline(p)), None)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> dict[str, Any]:
        """SIGTERM serve (it stops its children), then SIGKILL every group it ever had."""
        self.remember_groups()
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=SERVE_STOP_WAIT_SECONDS)
            code = self.proc.poll()
            _stop_group(self.proc, grace=1)
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        leftover = _pids_in_session(self.proc.pid) if self.proc else []
        for pid in leftover:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return {"serve_exit_code": code, "left_running_after_stop": len(leftover)}


# --- HTTP -----------------------------------------------------------------------------------


class Unreachable(ConnectionError):
    """The connection could not be opened: the request was never sent."""


class HttpClient:
    """One keep-alive HTTP/1.1 connection, as one user. Never retries a request by itself."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        if self.conn is not None and time.monotonic() - self.last_used > CLIENT_IDLE_LIMIT_SECONDS:
            self.close()
        if self.conn is None:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=CLIENT_TIMEOUT_SECONDS)
            try:
                conn.connect()
            except OSError as exc:
                raise Unreachable(str(exc)) from exc
            self.conn = conn
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        self.last_used = time.monotonic()
        if response.will_close:
            self.close()
        return response.status, data

    def call(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.request(method, path, body)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, {"raw": data[:300].decode(errors="replace")}


def _expect(status: int, body: Any, *wanted: int) -> Any:
    if status not in wanted:
        raise RuntimeError(f"HTTP {status} (wanted {wanted}): {str(body)[:500]}")
    return body


def _error_code(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code", ""))
    return ""


# --- The labelers ---------------------------------------------------------------------------


@dataclass
class Submit:
    """One submit as the labeler saw it."""

    worker: str
    assignment_id: int
    item_id: int | None
    outcome: str  # acknowledged | refused | 5xx | dropped | unreachable
    status: int | None
    code: str
    at: float  # seconds since the run's start


@dataclass
class Tally:
    submits: list[Submit] = field(default_factory=list)
    next_outcomes: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_next(self, outcome: str) -> None:
        with self.lock:
            self.next_outcomes[outcome] += 1


class Labeler(threading.Thread):
    """Asks for the next task and submits an answer, in a loop, until told to stop."""

    def __init__(
        self,
        name: str,
        token: str,
        port: int,
        job_id: int,
        tally: Tally,
        started: float,
        stop: threading.Event,
    ):
        super().__init__(name=f"labeler-{name}", daemon=True)
        self.worker = name
        self.client = HttpClient(port, token)
        self.job_id = job_id
        self.tally = tally
        self.started = started
        self.stop_event = stop
        self.random = random.Random(name)

    def run(self) -> None:
        while not self.stop_event.is_set():
            lease = self._next()
            if lease is None:
                continue
            self._submit(*lease)

    def _pause(self) -> None:
        self.stop_event.wait(RETRY_PAUSE_SECONDS)

    def _next(self) -> tuple[int, int | None] | None:
        try:
            status, body = self.client.call("POST", f"/api/v1/jobs/{self.job_id}/tasks/next")
        except Unreachable:
            self.tally.add_next("unreachable")
            self._pause()
            return None
        except (OSError, http.client.HTTPException):
            self.tally.add_next("dropped")
            self._pause()
            return None
        if status == 200:
            self.tally.add_next("leased")
            return body["assignment_id"], body["item"]["id"]
        code = _error_code(body)
        self.tally.add_next(f"{status} {code}".strip())
        if status == 409 and code == "too_many_leases":
            # A lease whose submit failed is still ours: answer it again, as the task UI does.
            held = body["error"]["details"].get("assignments") or []
            if held:
                return held[0], None
        self.stop_event.wait(0.5 if status == 204 else RETRY_PAUSE_SECONDS)
        return None

    def _submit(self, assignment_id: int, item_id: int | None) -> None:
        payload = {"answer": {"label": self.random.choice(LABELS)}}
        path = f"/api/v1/assignments/{assignment_id}/submit"
        status, code = None, ""
        try:
            status, body = self.client.call("POST", path, payload)
        except Unreachable:
            outcome = "unreachable"
        except (OSError, http.client.HTTPException) as exc:
            outcome, code = "dropped", exc.__class__.__name__
        else:
            code = _error_code(body)
            if 200 <= status < 300:
                outcome = "acknowledged"
            elif status >= 500:
                outcome = "5xx"
            else:
                outcome = "refused"
        at = round(time.monotonic() - self.started, 3)
        record = Submit(self.worker, assignment_id, item_id, outcome, status, code, at)
        with self.tally.lock:
            self.tally.submits.append(record)
        if outcome != "acknowledged":
            self._pause()


# --- The checks -----------------------------------------------------------------------------


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


# --- A run ----------------------------------------------------------------------------------


def manifest(count: int, prefix: str = "Item") -> bytes:
    words = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "cat")
    lines = []
    for index in range(count):
        text = " ".join(words[(index + k) % len(words)] for k in range(8))
        lines.append(json.dumps({"source": f"{prefix} {index}: {text}", "n": index}))
    return ("\n".join(lines) + "\n").encode()


class Rig:
    """PostgreSQL and Redis of our own, a migrated template database and a manager's token.

    One rig serves several runs: each run gets a fresh database cloned from the template, an
    empty Redis and a fresh ``serve``.
    """

    def __init__(self, ports: Ports, logs: Path, workdir: Path | None = None):
        self.ports = ports
        self.logs = logs  # each run's serve log is kept here (the work folder is removed)
        self.own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="quorum-faults-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)  # the postgres user walks through it to its data folder
        self.postgres = Postgres(ports.postgres, self.workdir)
        self.redis = Redis(ports.redis, self.workdir)
        self.manager_token = ""
        self.runs = 0

    def __enter__(self) -> "Rig":
        try:
            self.postgres.start()
            self.redis.start()
            self.postgres.create(TEMPLATE_DB)
            env = self.env(TEMPLATE_DB, self.workdir / "var-template")
            self._manage(env, "migrate", "--no-input", "-v0")
            out = self._manage(env, "create_user", MANAGER, "--role", "manager")
            self.manager_token = out.strip().splitlines()[-1].strip()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()
        if self.own_workdir and not os.environ.get("QUORUM_FAULTS_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def env(self, db: str, var_dir: Path) -> dict[str, str]:
        var_dir.mkdir(parents=True, exist_ok=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "QUORUM_", "CELERY_", "PYTEST_"))
            and k not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT", "DEBUG", "SECRET_KEY"}
        }
        env.update(
            DATABASE_URL=self.postgres.url(db).replace("postgresql://", "postgres://"),
            REDIS_URL=self.redis.url,
            SECRET_KEY="faults-" + "x" * 50,
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            QUORUM_VAR_DIR=str(var_dir),
            LOG_LEVEL="INFO",
            LEASE_SWEEP_SECONDS=str(LEASE_SWEEP_SECONDS),
            WEB_CONCURRENCY="2",
            CELERY_CONCURRENCY="2",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _manage(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def run(self, fault: str | None, phases: Phases) -> dict[str, Any]:
        """One run with one fault (None: no fault); returns the figures and the violations."""
        self.runs += 1
        run_dir = self.workdir / f"run-{self.runs}-{fault or 'none'}"
        run_dir.mkdir()
        self.redis.flush()
        self.postgres.clone(TEMPLATE_DB, RUN_DB)
        env = self.env(RUN_DB, run_dir / "var")
        serve = Serve(self.ports.web, env, run_dir / "serve.log")
        run = Run(self, serve, fault, phases, run_dir)
        try:
            started = time.monotonic()
            serve.start()
            run.figures["serve_start_s"] = round(time.monotonic() - started, 1)
            return run.execute()
        finally:
            run.stop_labelers()
            stopping = time.monotonic()
            run.figures.update(serve.stop())
            run.figures["serve_stop_s"] = round(time.monotonic() - stopping, 1)
            run.figures["log_findings"] = log_findings(serve.log)
            self.logs.mkdir(parents=True, exist_ok=True)
            kept = self.logs / f"{time.strftime('%Y%m%dT%H%M%S')}-{fault or 'none'}-serve.log"
            with contextlib.suppress(OSError):
                shutil.copyfile(serve.log, kept)
            run.figures["serve_log"] = str(kept)


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


class Run:
    """Setup through the API, the labelers, the fault, the recovery probes and the checks."""

    def __init__(self, rig: Rig, serve: Serve, fault: str | None, phases: Phases, run_dir: Path):
        self.rig = rig
        self.serve = serve
        self.fault = fault
        self.phases = phases
        self.run_dir = run_dir
        self.manager = HttpClient(serve.port, rig.manager_token)
        self.tally = Tally()
        self.stop_event = threading.Event()
        self.labelers: list[Labeler] = []
        self.figures: dict[str, Any] = {"fault": fault or "none"}
        self.started = time.monotonic()
        self.probe_lease: int | None = None

    def db(self) -> psycopg.Connection:
        return psycopg.connect(
            self.rig.postgres.url(RUN_DB), autocommit=True, connect_timeout=3
        )  # fmt: skip

    # Setup
    def _import(self, job_id: int, body: bytes, wait: bool = True) -> int:
        status, data = self.manager.request(
            "POST", f"/api/v1/jobs/{job_id}/items", body, "application/x-ndjson"
        )
        run_id = _expect(status, json.loads(data), 202)["id"]
        deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
        while wait and time.monotonic() < deadline:
            status, run = self.manager.call("GET", f"/api/v1/imports/{run_id}")
            if _expect(status, run, 200)["status"] in ("succeeded", "failed"):
                if run["status"] != "succeeded":
                    raise RuntimeError(f"import failed: {json.dumps(run)[:1000]}")
                return run_id
            time.sleep(0.2)
        if wait:
            raise RuntimeError("the import did not finish in time")
        return run_id

    def _job(self, name: str, team: int, n: int, limit: int = 300) -> int:
        payload = {"name": name, "task_type": "text-classification", "labels": LABELS,
                   "team": team, "workers_per_item": n, "max_concurrent_tasks_per_worker": 1,
                   "task_time_limit_seconds": limit}  # fmt: skip
        status, body = self.manager.call("POST", "/api/v1/jobs", payload)
        return _expect(status, body, 201)["id"]

    def setup(self) -> None:
        phases = self.phases
        status, body = self.manager.call("POST", "/api/v1/teams", {"name": "fault labelers"})
        team = _expect(status, body, 201)["id"]
        self.tokens = {}
        for index in range(phases.labelers + 1):
            name = f"lab-{index:02d}" if index < phases.labelers else "probe"
            status, body = self.manager.call(
                "POST", "/api/v1/workers", {"username": name, "team": team}
            )
            self.tokens[name] = _expect(status, body, 201, 200)["token"]
        self.job_id = self._job("faults", team, phases.workers_per_item)
        started = time.monotonic()
        self._import(self.job_id, manifest(phases.items))
        self.figures["import_seconds"] = round(time.monotonic() - started, 2)
        self.manager.call("POST", f"/api/v1/jobs/{self.job_id}/start")
        # The probe job: a lease on it that never runs out by itself shows the sweeper (beat)
        # at work when we backdate it; a one-line import into it shows a worker at work.
        self.probe_job = self._job("probe", team, 1, limit=8 * 3600)
        self._import(self.probe_job, manifest(50, "Probe"))
        _expect(*self.manager.call("POST", f"/api/v1/jobs/{self.probe_job}/start"), 200)
        self.probe = HttpClient(self.serve.port, self.tokens["probe"])

    # The probes
    def _probe_lease(self) -> int:
        status, body = self.probe.call("POST", f"/api/v1/jobs/{self.probe_job}/tasks/next")
        return _expect(status, body, 200)["assignment_id"]

    def probe_recovery(self, since: float, limit: float) -> dict[str, float | None]:
        """Seconds from ``since`` until a fresh Celery task ran (a one-line import) and until
        beat's lease sweeper expired a backdated lease; None if not within ``limit``."""
        worker_s = beat_s = None
        backdated = False
        pending_import: int | None = None
        lease = self.probe_lease
        deadline = since + limit
        while time.monotonic() < deadline and (worker_s is None or beat_s is None):
            with contextlib.suppress(psycopg.Error), self.db() as conn:
                if beat_s is None and not backdated:
                    conn.execute(
                        "UPDATE labeling_assignment SET expires_at = now() - interval '1 second' "
                        "WHERE id = %s AND status = 'leased'",
                        [lease],
                    )
                    backdated = True
                if beat_s is None and backdated:
                    (state,) = conn.execute(
                        "SELECT status FROM labeling_assignment WHERE id = %s", [lease]
                    ).fetchone()
                    if state == "expired":
                        beat_s = round(time.monotonic() - since, 1)
                if worker_s is None and pending_import is not None:
                    (state,) = conn.execute(
                        "SELECT status FROM labeling_importrun WHERE id = %s", [pending_import]
                    ).fetchone()
                    if state == "succeeded":
                        worker_s = round(time.monotonic() - since, 1)
            if worker_s is None and pending_import is None and self.serve.healthy():
                # Only once the broker answers, so that the probe's message is not lost.
                with contextlib.suppress(OSError, http.client.HTTPException, RuntimeError):
                    pending_import = self._import(self.probe_job, manifest(1, "P"), wait=False)
            self.serve.remember_groups()  # a restarted child is stopped at the end too
            time.sleep(0.5)
        return {"worker": worker_s, "beat": beat_s}

    # The fault
    def inject(self) -> dict[str, Any]:
        detail: dict[str, Any] = {}
        if self.fault == "web-worker-kill":
            workers = self.serve.web_workers()
            if not workers:
                raise RuntimeError("no gunicorn worker to kill")
            os.kill(workers[0], signal.SIGKILL)
            detail["killed_pid"] = workers[0]
        elif self.fault == "celery-kill":
            detail.update(self._kill_celery_mid_import())
        elif self.fault == "redis-restart":
            self.rig.redis.restart()
        elif self.fault == "postgres-restart":
            self.rig.postgres.restart()
        elif self.fault is not None:
            raise ValueError(f"unknown fault {self.fault!r}")
        return detail

    def _kill_celery_mid_import(self) -> dict[str, Any]:
        """SIGKILL the Celery worker's process group (worker, pool and beat) while it imports."""
        worker = self.serve.celery_worker()
        if worker is None:
            raise RuntimeError("no Celery worker to kill")
        run_id = self._import(self.probe_job, manifest(KILLED_IMPORT_ITEMS, "Big"), wait=False)
        seen = "queued"
        deadline = time.monotonic() + 10
        with self.db() as conn:
            while time.monotonic() < deadline:
                (seen,) = conn.execute(
                    "SELECT status FROM labeling_importrun WHERE id = %s", [run_id]
                ).fetchone()
                if seen != "queued":
                    break
                time.sleep(0.02)
        _kill_tree(worker)
        return {"killed_pid": worker, "import_id": run_id, "import_status_at_kill": seen}

    # The run
    def execute(self) -> dict[str, Any]:
        phases = self.phases
        self.setup()
        self.started = time.monotonic()
        for name, token in self.tokens.items():
            if name == "probe":
                continue
            labeler = Labeler(name, token, self.serve.port, self.job_id, self.tally,
                              self.started, self.stop_event)  # fmt: skip
            labeler.start()
            self.labelers.append(labeler)
        # Before the fault: the probes must work, or the rig (not the product) is broken.
        self.probe_lease = self._probe_lease()
        before = self.probe_recovery(time.monotonic(), phases.before_seconds)
        self.figures["probes_before_fault_s"] = before
        if before["worker"] is None or before["beat"] is None:
            raise RuntimeError(f"the probes fail before any fault: {before}; {self.serve.log}")
        self.probe_lease = self._probe_lease()
        time.sleep(max(0.0, self.started + phases.before_seconds - time.monotonic()))

        fault_at = time.monotonic()
        self.figures["fault_at_s"] = round(fault_at - self.started, 1)
        self.figures["fault_detail"] = self.inject()
        self.figures["fault_took_s"] = round(time.monotonic() - fault_at, 1)
        recovery = self.probe_recovery(fault_at, phases.probe_until_seconds)
        self.figures["worker_back_s"] = recovery["worker"]
        self.figures["beat_back_s"] = recovery["beat"]
        time.sleep(max(0.0, fault_at + phases.after_seconds - time.monotonic()))
        self.stop_labelers()
        drive_seconds = time.monotonic() - self.started
        self.figures["drive_seconds"] = round(drive_seconds, 1)
        self.figures["serve_alive"] = self.serve.alive()
        self.figures["web_workers_alive"] = len(self.serve.web_workers())
        self.figures["celery_worker_alive"] = _alive(self.serve.celery_worker())
        self.figures["next_task"] = dict(self.tally.next_outcomes)

        settle_until = fault_at + phases.after_seconds + phases.import_settle_seconds
        unfinished = []
        while True:
            with contextlib.suppress(psycopg.Error), self.db() as conn:
                unfinished = imports_unfinished(conn)
            if not unfinished or time.monotonic() >= settle_until:
                break
            time.sleep(1)
        with self.db() as conn:
            checks = answer_checks(conn, self.job_id, phases.workers_per_item, self.tally.submits)
        self.figures.update(checks)
        self.figures["answers_per_second"] = round(checks["acknowledged"] / drive_seconds, 1)
        self.figures["imports_unfinished"] = unfinished
        self.figures["violations"] = violations(self.figures, phases)
        return self.figures

    def stop_labelers(self) -> None:
        self.stop_event.set()
        for labeler in self.labelers:
            labeler.join(timeout=CLIENT_TIMEOUT_SECONDS + 5)
            labeler.client.close()
        self.labelers = []


def violations(figures: dict[str, Any], phases: Phases) -> list[str]:
    """What the issue asks for, each as a sentence naming the figure that broke it."""
    broken = []
    for key in ("acknowledged_not_stored", "stored_but_5xx", "stored_but_refused",
                "items_over_n", "double_answers"):  # fmt: skip
        if figures.get(key):
            broken.append(f"{key} = {figures[key]} (must be 0)")
    limit = phases.recovery_limit_seconds
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
