"""The fault suite's stack: a PostgreSQL and a Redis of its own, and `manage.py serve`.

Each is started on its own port and stopped by what it is (``pg_ctl stop`` and SIGKILL of the
postmaster; Redis and serve by their process groups; anything left in serve's session by pid).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.faults.client import HOST, HttpClient

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

READY_TIMEOUT_SECONDS = 90
STOP_GRACE_SECONDS = 25
# The checks are done when serve is stopped: a short wait for a clean stop, then SIGKILL.
SERVE_STOP_WAIT_SECONDS = 5
REDIS_OUTAGE_SECONDS = 3


def missing_binaries() -> str | None:
    """Why the suite cannot run here (None if it can)."""
    for path in (PG_BIN / "initdb", PG_BIN / "pg_ctl", PG_BIN / "postgres", Path(REDIS_SERVER)):
        if not path.exists():
            return f"{path} is not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to run PostgreSQL as the postgres user"
    return None


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


def process_alive(pid: int | None) -> bool:
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


def kill_tree(pid: int) -> None:
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

    def __init__(self, port: int, env: dict[str, str], log: Path, app_dir: Path = ROOT):
        self.port = port
        self.env = env
        self.app_dir = app_dir
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.groups: set[int] = set()  # every child process group seen

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "manage.py", "serve", "--port", str(self.port)],
                cwd=self.app_dir,
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
