"""A PostgreSQL cluster of the benchmark's own, with the server's default settings.

The machine's shared PostgreSQL may be tuned (autovacuum off, say); a user's is not. The
bench starts its own cluster (``initdb`` once into ``bench/out/pg-<port>/``, then
``pg_ctl start``) on a port of its own, with PostgreSQL's defaults except: it listens on
127.0.0.1 only, and it loads ``pg_stat_statements`` (for the per-statement figures; it adds
no work a query would not do). ``autovacuum`` is on unless the scenario turns it off.
Every process of the cluster works for the bench, so its CPU is all counted.
"""

import os
import shutil
import subprocess
from contextlib import suppress
from pathlib import Path

import psycopg

PG_BIN_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_SECONDS = 60


def pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(PG_BIN_ROOT.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for folder in versions:
        if (folder / name).exists():
            return str(folder / name)
    raise RuntimeError(f"{name} not found (PostgreSQL server binaries)")


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as the ``postgres`` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class OwnPostgres:
    """One cluster on ``port`` under ``folder``; ``with`` starts it and stops it (fast)."""

    def __init__(self, folder: Path, port: int, *, autovacuum: bool = True):
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.autovacuum = autovacuum

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> "OwnPostgres":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            subprocess.run(
                _as_postgres([pg_bin("initdb"), "-D", str(self.data), "-U", "postgres",
                              "--auth=trust", "-E", "UTF8"]),
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        self.stop()  # a cluster left running by an interrupted run
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} "
            "-c shared_preload_libraries=pg_stat_statements "
            f"-c autovacuum={'on' if self.autovacuum else 'off'}"
        )
        subprocess.run(
            _as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.folder / "server.log"), "-w", "start"]),
            check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS,
        )  # fmt: skip
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        with suppress(subprocess.SubprocessError):
            subprocess.run(
                _as_postgres([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                capture_output=True, timeout=60,
            )  # fmt: skip

    def pids(self) -> list[int]:
        """The postmaster and all its children (backends, autovacuum, writers)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        try:
            children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        except OSError:
            return []
        return [postmaster, *(int(pid) for pid in children)]

    def settings(self) -> dict[str, str]:
        names = ("autovacuum", "shared_buffers", "synchronous_commit", "max_connections",
                 "work_mem", "server_version")  # fmt: skip
        with psycopg.connect(self.admin_url) as conn:
            rows = conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                [list(names)],
            ).fetchall()
        return dict(rows)
