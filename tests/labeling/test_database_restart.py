"""A PostgreSQL restart is survived (issue 12): the web server's persistent connections
(CONN_MAX_AGE with health checks) and the worker's reconnect, and a submit after the restart
is stored and answered 201, its after-commit work done by the worker.

The test runs its own cluster (``initdb`` into a temporary folder, as the ``postgres`` user
when run as root) on a free loopback port or ``QUORUM_TEST_PG_PORT``, never the shared server,
and serves it with the web server and worker that ``manage.py serve`` runs.
"""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labeling.management.commands.serve import web_command, worker_command

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
UP_WITHIN_SECONDS = 60

SEED = """
from labeling.models import Role
from labeling.services.jobs import job_create, job_start
from labeling.workforces.services.teams import team_create
from labeling.services.users import user_create
from tests.conftest import import_lines
manager, _, _ = user_create(username="m", password="pw-manager-1", role=Role.MANAGER)
team = team_create(name="t")
labeler, token, _ = user_create(username="l", password="pw-labeler-1", role=Role.LABELER, team=team)
job = job_create(created_by=manager, name="j", task_type="text-classification",
                 labels=["cat", "dog"], team=team, workers_per_item=1)
import_lines(job, manager, [{"source": f"text {i}"} for i in range(3)])
job_start(job=job, by=manager)
print(json.dumps({"job": job.pk, "token": token}))
"""


def _free_port(variable: str) -> int:
    if os.environ.get(variable):
        return int(os.environ[variable])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres() -> dict[str, str]:
    """PostgreSQL refuses to run as root: then its processes run as the postgres user."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


class OwnPostgres:
    """A throwaway cluster: started, restarted (fast shutdown, as a restart does), removed."""

    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.url = f"postgres://postgres@127.0.0.1:{port}/quorum"
        self.process: subprocess.Popen | None = None

    def init(self) -> None:
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.folder / "data")]
            + ["-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
            cwd=self.folder,
            **_as_postgres(),
        )

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.folder / "data")]
            + ["-p", str(self.port), "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1"]
            + ["-c", "fsync=off"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
            **_as_postgres(),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"postgres did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # SIGINT is PostgreSQL's fast shutdown: connections are cut, as in a restart.
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)

    def psql(self, sql: str, database: str = "quorum") -> str:
        return subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
            + ["-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()


@pytest.fixture
def own_postgres():
    if not (PG_BIN / "initdb").exists() or not shutil.which("psql"):
        pytest.skip("PostgreSQL 15 binaries are not installed: this test starts its own cluster")
    if os.geteuid() == 0 and "postgres" not in {user.pw_name for user in pwd.getpwall()}:
        pytest.skip("running as root without a postgres user to run the cluster as")
    folder = Path(tempfile.mkdtemp(prefix="quorum-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = OwnPostgres(folder, _free_port("QUORUM_TEST_PG_PORT"))
    cluster.init()
    cluster.start()
    cluster.psql("CREATE DATABASE quorum", database="postgres")
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


def _call(port: int, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else b"",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_postgresql_restart_is_survived_by_the_web_server_and_the_worker(own_postgres, tmp_path):
    web_port = _free_port("QUORUM_TEST_WEB_PORT")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "QUORUM_", "CELERY_")) and k != "REDIS_URL"
    }
    env.update(
        DEBUG="1",
        QUORUM_VAR_DIR=str(tmp_path),
        DATABASE_URL=own_postgres.url,
        CONN_MAX_AGE="60",
        LOG_LEVEL="INFO",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    seeded = subprocess.run(
        [*manage, "shell", "-c", "import json\n" + SEED],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])
    job, token = ids["job"], ids["token"]

    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        # The children exactly as serve starts them; one web process, so the request after the
        # restart meets the connection the one before it left open.
        command = web_command(bind="127.0.0.1", port=str(web_port), web_workers="1", threads="2")
        children = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
        ]
        worker = worker_command(var_dir=tmp_path, redis_url="")
        children.append(
            subprocess.Popen(worker, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
        try:
            deadline = time.monotonic() + UP_WITHIN_SECONDS
            status, lease = 0, {}
            while time.monotonic() < deadline:
                try:
                    status, lease = _call(web_port, f"/api/v1/jobs/{job}/tasks/next", token)
                    break
                except OSError:
                    time.sleep(0.5)
            assert status == 200, (status, lease, log_path.read_text()[-3000:])

            own_postgres.stop()  # every connection the web server and the worker hold dies
            own_postgres.start()

            status, answer = _call(
                web_port,
                f"/api/v1/assignments/{lease['assignment_id']}/submit",
                token,
                {"answer": {"label": "dog"}},
            )
            assert status == 201, (status, answer, log_path.read_text()[-3000:])
            assert own_postgres.psql("SELECT count(*) FROM labeling_annotation") == "1"

            # The worker, on its own connections, does the submit's after-commit work.
            deadline = time.monotonic() + UP_WITHIN_SECONDS
            estimates = "0"
            while time.monotonic() < deadline and estimates == "0":
                time.sleep(0.5)
                estimates = own_postgres.psql(
                    f"SELECT count(*) FROM labeling_jobqualityestimate WHERE job_id = {job}"
                )
            assert estimates == "1", log_path.read_text()[-3000:]
            assert all(child.poll() is None for child in children), log_path.read_text()[-3000:]
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
