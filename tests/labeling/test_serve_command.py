"""``manage.py serve`` as a newcomer runs it: up, healthy, and stopped by one Ctrl-C with
both children exiting cleanly (once the worker is ready: a SIGTERM before
Celery installs its handlers kills it outright).

The command runs in a session of its own on the embedded default (SQLite and the filesystem
broker in a temporary directory, whatever the suite's own database is), and the Ctrl-C is a
SIGINT to its whole process group, as a terminal sends it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UP_WITHIN_SECONDS = 60
STOP_WITHIN_SECONDS = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(var_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "QUORUM_", "CELERY_"))
        and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(DEBUG="1", QUORUM_VAR_DIR=str(var_dir), PORT=str(port), LOG_LEVEL="INFO")
    return env


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 503: what failed is in the body
        return json.loads(error.read())
    except OSError:
        return None


@pytest.mark.parametrize(
    "stop_signal",
    [signal.SIGINT, signal.SIGHUP],
    ids=["ctrl-c", "terminal-closed"],
)
def test_serve_comes_up_healthy_and_one_signal_to_its_group_stops_both_children_cleanly(
    tmp_path, stop_signal
):
    port = _free_port()
    env = _embedded_env(tmp_path, port)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [*manage, "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
        try:
            deadline = time.monotonic() + UP_WITHIN_SECONDS
            health = None
            while health is None and time.monotonic() < deadline and serve.poll() is None:
                time.sleep(0.5)
                health = _health(port)
            assert health is not None, log_path.read_text()[-3000:]
            assert health["status"] == "ok"
            assert health["checks"]["database"]["status"] == "ok"
            assert health["checks"]["broker"]["status"] == "ok"
            # The worker has its signal handlers once it says it is ready.
            while " ready." not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert " ready." in log_path.read_text(), log_path.read_text()[-3000:]
            processes = {p for child in _children(serve.pid) for p in _group(child)}
            assert len(processes) >= 6, processes  # gunicorn and 2 workers; celery, beat, pool

            os.killpg(serve.pid, stop_signal)  # Ctrl-C, or the terminal closing
            assert serve.wait(timeout=STOP_WITHIN_SECONDS) == 0
        finally:
            _stop(serve)
    output = log_path.read_text()
    assert "stopped (exit codes: web 0, worker 0)" in output, output[-3000:]
    assert "killed what" not in output, output[-3000:]  # a clean stop kills nothing
    assert _left_over(processes) == {}  # nothing running on, nothing left a zombie


def _stop(serve: subprocess.Popen) -> None:
    """After a failure: serve stops its children (their own process groups) on SIGTERM;
    SIGKILL only if it does not, which would leave them running."""
    if serve.poll() is None:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _worker_pid(serve_pid: int) -> int | None:
    for child in _children(serve_pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"celery" in command:  # serve forks the worker, which names itself celery in ps
            return child
    return None


def _group(pgid: int) -> dict[int, str]:
    """Every process in process group ``pgid``, with its state letter (Z: a zombie)."""
    members = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == pgid:
            members[int(stat.parent.name)] = fields[0]
    return members


def _left_over(pids) -> dict[int, str]:
    """Of ``pids``, those still in the process table, with their state."""
    left = {}
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        left[pid] = text[text.rindex(")") + 2]
    return left


@pytest.mark.parametrize("kill", ["group", "main-process"])
def test_serve_restarts_a_killed_worker_and_still_stops_cleanly(tmp_path, kill):
    """The worker killed with SIGKILL (the OOM killer: the whole group, or only the worker's
    main process) is started again after a logged backoff, the web server staying up
    meanwhile; nothing of the dead worker is left, neither running beside its successor (a
    second beat) nor as a zombie; one Ctrl-C then still stops both cleanly."""
    port = _free_port()
    env = _embedded_env(tmp_path, port)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [*manage, "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + UP_WITHIN_SECONDS
            while log_path.read_text().count(" ready.") < 1 and time.monotonic() < deadline:
                assert serve.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.5)
            first = _worker_pid(serve.pid)
            assert first is not None, log_path.read_text()[-3000:]
            deadline = time.monotonic() + UP_WITHIN_SECONDS  # beat and the pool fork after it
            while len(_group(first)) < 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            old = _group(first)
            assert len(old) >= 3, old  # the worker, its beat and at least one pool process

            if kill == "group":
                os.killpg(first, signal.SIGKILL)  # the worker and its pool, as the OOM killer might
            else:
                os.kill(first, signal.SIGKILL)  # the worker alone: beat and the pool orphaned

            deadline = time.monotonic() + UP_WITHIN_SECONDS
            while log_path.read_text().count(" ready.") < 2 and time.monotonic() < deadline:
                assert serve.poll() is None, log_path.read_text()[-3000:]
                time.sleep(0.5)
            output = log_path.read_text()
            assert output.count(" ready.") == 2, output[-3000:]
            assert "worker (pid" in output and "exited with code -9; restarting it in" in output
            assert "serve: worker restarted" in output, output[-3000:]
            # Killed alone, the worker left its beat and pool running: serve names what it
            # killed. With the whole group killed there is nothing left to kill or to name.
            if kill == "main-process":
                assert "serve: killed what worker left in its process group: " in output
            else:
                assert "killed what worker left" not in output, output[-3000:]
            second = _worker_pid(serve.pid)
            assert second not in (None, first)
            # The forked worker is back in about a second, maybe before gunicorn's workers
            # have answered their first request: wait for the web as the first test does.
            health = None
            deadline = time.monotonic() + UP_WITHIN_SECONDS
            while (health is None or health["status"] != "ok") and time.monotonic() < deadline:
                assert serve.poll() is None, log_path.read_text()[-3000:]
                health = _health(port)
                time.sleep(0.5)
            assert health is not None and health["status"] == "ok", health
            # Reaped by serve, not left as zombies (nor running on beside the new worker).
            deadline = time.monotonic() + 10
            while _left_over(old) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _left_over(old) == {}, (_left_over(old), output[-3000:])
            assert len([p for p in _group(second) if b"[celery beat]" in _cmdline(p)]) == 1

            os.killpg(serve.pid, signal.SIGINT)
            assert serve.wait(timeout=STOP_WITHIN_SECONDS) == 0
        finally:
            _stop(serve)
    output = log_path.read_text()
    assert "stopped (exit codes: web 0, worker 0)" in output, output[-3000:]
    # The clean stop killed nothing more: what exits with the children is only reaped.
    assert output.count("killed what") == (1 if kill == "main-process" else 0), output[-3000:]
