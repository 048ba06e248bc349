"""The fault harness: own PostgreSQL and Redis, `manage.py serve`, 20 labelers, one fault, checks.

Shared by tests/faults/test_faults.py (short phases) and bench/faults.py (longer phases). Nothing
here imports Django: the server runs as `manage.py serve` in child processes (stack.py), the
labelers talk HTTP to it on loopback (labelers.py), and the checks read the database with
psycopg directly (checks.py). Everything started is stopped in ``finally`` blocks.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tests.faults.checks import answer_checks, imports_unfinished, log_findings, violations
from tests.faults.client import CLIENT_TIMEOUT_SECONDS, HttpClient, expect
from tests.faults.labelers import LABELS, Labeler, Tally
from tests.faults.stack import (
    PYTHON,
    ROOT,
    Postgres,
    Redis,
    Serve,
    kill_tree,
    process_alive,
)

FAULTS = ("web-worker-kill", "celery-kill", "redis-restart", "postgres-restart")
TEMPLATE_DB = "faults_template"
RUN_DB = "faults_run"
MANAGER = "fault-pm"
IMPORT_TIMEOUT_SECONDS = 120
# The lease sweeper (beat) runs this often in the server under test; the beat probe waits on it.
LEASE_SWEEP_SECONDS = 5
# An import's lease and the sweep that re-runs imports whose worker died, shortened like the
# lease sweeper so that a killed import is re-run within a test's phase. The defaults (a 60 s
# lease, a sweep every 30 s) re-run it within about 90 s (docs/operations.md).
IMPORT_LEASE_SECONDS = 10
IMPORT_SWEEP_SECONDS = 5
# The import the Celery-kill fault kills its worker in the middle of.
KILLED_IMPORT_ITEMS = 100_000


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

    def __init__(self, ports: Ports, logs: Path, workdir: Path | None = None, app_dir: Path = ROOT):
        self.ports = ports
        self.app_dir = app_dir  # the checkout whose code the server runs (bench: --commit)
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
            QUORUM_IMPORT_LEASE_SECONDS=str(IMPORT_LEASE_SECONDS),
            IMPORT_SWEEP_SECONDS=str(IMPORT_SWEEP_SECONDS),
            WEB_CONCURRENCY="2",
            CELERY_CONCURRENCY="2",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _manage(self, env: dict[str, str], *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=self.app_dir, env=env, capture_output=True, text=True,
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
        serve = Serve(self.ports.web, env, run_dir / "serve.log", self.app_dir)
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
        run_id = expect(status, json.loads(data), 202)["id"]
        deadline = time.monotonic() + IMPORT_TIMEOUT_SECONDS
        while wait and time.monotonic() < deadline:
            status, run = self.manager.call("GET", f"/api/v1/imports/{run_id}")
            if expect(status, run, 200)["status"] in ("succeeded", "failed"):
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
        return expect(status, body, 201)["id"]

    def setup(self) -> None:
        phases = self.phases
        status, body = self.manager.call("POST", "/api/v1/teams", {"name": "fault labelers"})
        team = expect(status, body, 201)["id"]
        self.tokens = {}
        for index in range(phases.labelers + 1):
            name = f"lab-{index:02d}" if index < phases.labelers else "probe"
            status, body = self.manager.call(
                "POST", "/api/v1/workers", {"username": name, "team": team}
            )
            self.tokens[name] = expect(status, body, 201, 200)["token"]
        self.job_id = self._job("faults", team, phases.workers_per_item)
        started = time.monotonic()
        self._import(self.job_id, manifest(phases.items))
        self.figures["import_seconds"] = round(time.monotonic() - started, 2)
        self.manager.call("POST", f"/api/v1/jobs/{self.job_id}/start")
        # The probe job: a lease on it that never runs out by itself shows the sweeper (beat)
        # at work when we backdate it; a one-line import into it shows a worker at work.
        self.probe_job = self._job("probe", team, 1, limit=8 * 3600)
        self._import(self.probe_job, manifest(50, "Probe"))
        expect(*self.manager.call("POST", f"/api/v1/jobs/{self.probe_job}/start"), 200)
        self.probe = HttpClient(self.serve.port, self.tokens["probe"])

    # The probes
    def _probe_lease(self) -> int:
        status, body = self.probe.call("POST", f"/api/v1/jobs/{self.probe_job}/tasks/next")
        return expect(status, body, 200)["assignment_id"]

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
        kill_tree(worker)
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
        self.figures["celery_worker_alive"] = process_alive(self.serve.celery_worker())
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
        self.figures["violations"] = violations(self.figures, phases.recovery_limit_seconds)
        return self.figures

    def stop_labelers(self) -> None:
        self.stop_event.set()
        for labeler in self.labelers:
            labeler.join(timeout=CLIENT_TIMEOUT_SECONDS + 5)
            labeler.client.close()
        self.labelers = []
