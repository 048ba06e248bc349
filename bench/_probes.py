"""Measuring from outside: CPU and memory of processes from /proc, percentiles, the machine.

Used by the benchmarks while the server runs; nothing here talks to the application.
"""

import os
import platform
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol

import psycopg

DB_NAME = "quorum_bench"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


class HasProcessGroups(Protocol):
    def process_groups(self) -> dict[str, list[int]]: ...


SHARED_POSTGRES_PROCESSES = ("checkpointer", "background writer", "walwriter")


def postgres_pids() -> list[int]:
    """The server processes that work for the bench: the backends connected to its database,
    and the shared writers (checkpointer, background writer, WAL writer), which the bench
    keeps busy. Backends of other databases (other people's tests) count as other load."""
    with suppress(psycopg.Error), psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type = ANY(%s)",
            [DB_NAME, list(SHARED_POSTGRES_PROCESSES)],
        ).fetchall()
        return [pid for (pid,) in rows]
    return []


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process (clock ticks); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used by each process group, this process and the machine between start and stop.

    A thread re-reads the groups' processes every ``interval`` seconds and keeps each one's
    last CPU reading, so that a process that exits in the window (a database connection
    that reached CONN_MAX_AGE) still counts; a process that starts in it counts from zero.
    """

    def __init__(self, stack: HasProcessGroups, interval: float = 1.0):
        self.stack = stack
        self.interval = interval
        self.done = threading.Event()

    def _read(self) -> None:
        for name, pids in self.stack.process_groups().items():
            seen = self.last.setdefault(name, {})
            for pid in pids:
                ticks = cpu_ticks(pid)
                if ticks:
                    seen[pid] = max(seen.get(pid, 0), ticks)

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            self._read()

    def start(self) -> None:
        self.last: dict[str, dict[int, int]] = {}
        self._read()
        self.first = {name: dict(pids) for name, pids in self.last.items()}
        self.started = (os.times(), machine_ticks(), time.monotonic())
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.thread.join(timeout=10)
        self._read()
        times, machine_then, wall_then = self.started
        now_times, machine_now = os.times(), machine_ticks()
        capacity = (time.monotonic() - wall_then) * CORES
        shares: dict[str, float] = {}
        for name, pids in self.last.items():
            first = self.first.get(name, {})
            ticks = sum(max(0, t - first.get(pid, 0)) for pid, t in pids.items())
            shares[name] = ticks / CLK_TCK / capacity
        shares["generator"] = (
            now_times.user + now_times.system - times.user - times.system
        ) / capacity
        busy = machine_now[0] - machine_then[0]
        total = machine_now[1] - machine_then[1]
        shares["machine_busy"] = busy / total if total else 0.0
        shares["other"] = max(0.0, shares["machine_busy"] - sum(
            shares.get(k, 0.0) for k in ("gunicorn", "celery", "postgres", "generator")
        ))  # fmt: skip
        return {f"{name}": round(value, 3) for name, value in shares.items()}


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples VmRSS of some processes every ``interval`` seconds until stopped."""

    def __init__(self, pids: list[int], interval: float = 0.05):
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.baseline = {pid: rss_kib(pid) for pid in pids}
        self.peak = dict(self.baseline)
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            self.samples += 1

    def finish(self) -> dict[str, Any]:
        self.done.set()
        self.join(timeout=5)
        for pid in self.pids:  # one last sample, for runs shorter than the interval
            self.peak[pid] = max(self.peak[pid], rss_kib(pid))
        growth = {pid: self.peak[pid] - self.baseline[pid] for pid in self.pids}
        served = max(growth, key=growth.get)
        return {
            "rss_baseline_mib": round(self.baseline[served] / 1024, 1),
            "rss_peak_mib": round(self.peak[served] / 1024, 1),
            "rss_growth_mib": round(growth[served] / 1024, 1),
            "vm_hwm_mib": round(rss_kib(served, "VmHWM") / 1024, 1),
            "rss_samples": self.samples,
            "worker_pid": served,
        }


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def postgres_settings() -> dict[str, str]:
    names = ("autovacuum", "shared_buffers", "synchronous_commit", "max_connections", "work_mem")
    with psycopg.connect(PG_ADMIN_URL) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            [list(names)],
        ).fetchall()
    return dict(rows)


def machine(pg_url: str = PG_ADMIN_URL) -> str:
    model = "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(pg_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    return (
        f"{CORES} cores ({model}), {memory:.0f} GB, PostgreSQL {pg}, "
        f"Python {platform.python_version()}"
    )
