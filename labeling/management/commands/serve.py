"""manage.py serve: run the web server (gunicorn) and a Celery worker with its lease sweeper.

Both run as child processes. A child that dies (the worker killed by the OOM killer, a crash)
is started again after a backoff, logged, so the web server never runs without a worker for
long; SIGINT, SIGTERM or SIGHUP stops both cleanly, each with one SIGTERM.

The worker is forked from this process, which has Django and the task modules loaded already
(as gunicorn's ``--preload`` does for web workers): a fresh interpreter spends about 3.5 s of
CPU importing them, which on a machine busy with labelers (the worker starting beside 16 busy
request threads) stretched a restart to 25-30 s. A forked worker skips that work.

On Linux serve is also its children's *subreaper*: a process orphaned below it (a killed
worker's beat and pool processes, a killed gunicorn master's workers) is re-parented to serve,
which reaps it, instead of to PID 1, which in a container without an init never does and
would keep it as a zombie for the container's lifetime.
"""

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from setproctitle import setproctitle

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 20
# Seconds before the n-th restart in a row of a child; the last one repeats.
RESTART_BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)
# A child that ran this long before it died starts again from the first backoff.
STABLE_AFTER_SECONDS = 60.0
POLL_SECONDS = 0.5
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def _verbose() -> bool:
    return settings.LOG_LEVEL in {"DEBUG", "INFO"}


def web_command(*, bind: str, port: str, web_workers: str, threads: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"{bind}:{port}",
        "--workers",
        web_workers,
        "--worker-class",
        "gthread",
        "--threads",
        threads,
        "--log-level",
        settings.LOG_LEVEL.lower(),
        "--graceful-timeout",
        str(STOP_GRACE_SECONDS - 5),
        # One line per request only when asked for (the demo's terminal is quiet).
        *(["--access-logfile", "-"] if _verbose() else []),
    ]


def worker_command(*, var_dir: Path | None = None, redis_url: str | None = None) -> list[str]:
    """The Celery worker with beat embedded in a fresh interpreter (the outage tests run it,
    for a worker whose environment names another var folder or Redis than this process's);
    serve forks the same worker instead (``worker_arguments``)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        *worker_arguments(var_dir=var_dir, redis_url=redis_url),
    ]


def worker_arguments(*, var_dir: Path | None = None, redis_url: str | None = None) -> list[str]:
    """``celery`` arguments after the app: the worker with beat embedded, as serve runs it."""
    var_dir = settings.VAR_DIR if var_dir is None else var_dir
    redis_url = settings.REDIS_URL if redis_url is None else redis_url
    command = [
        *([] if _verbose() else ["--quiet"]),  # --quiet: no start-up banner
        "worker",
        "--beat",
        "--loglevel",
        settings.LOG_LEVEL.lower(),
        "--concurrency",
        os.environ.get("CELERY_CONCURRENCY", "2"),
        "--schedule",
        str(var_dir / "celerybeat-schedule"),
    ]
    if not redis_url:
        command += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    return command


class _ForkedProcess:
    """The part of ``subprocess.Popen`` that ``_Child`` uses, for a child made by ``os.fork``."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker (pid {self.pid})", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def worker_preload() -> None:
    """Load what the worker runs (the Celery app, every task module and the worker's own
    code) in this process, so that a forked worker starts without importing it."""
    import celery.apps.beat  # noqa: F401
    import celery.apps.worker  # noqa: F401
    from celery import current_app  # the project's app: config/ made it when Django loaded

    current_app.loader.import_default_modules()


def worker_fork() -> _ForkedProcess:
    """Fork the worker from this process (``worker_preload`` first). The child gets a process
    group of its own and the default signal handlers, then runs ``celery worker``; it never
    returns here."""
    from django.db import connections

    connections.close_all()  # a child must never share a database connection with serve
    arguments = worker_arguments()
    sys.stdout.flush()  # or the child would write serve's buffered lines a second time
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return _ForkedProcess(pid)
    code = 1
    try:
        os.setpgid(0, 0)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        from celery import current_app

        sys.argv = ["celery", "-A", "config", *arguments]
        setproctitle(" ".join(sys.argv))  # what ps shows until Celery sets its own title
        code = current_app.start(argv=arguments) or 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        logger.exception("serve: the forked worker failed")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def become_subreaper() -> bool:
    """Ask Linux to re-parent orphans below this process to it (``prctl``); False where that
    is not available (another system, a seccomp profile that forbids it)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def group_running(pgid: int) -> dict[int, str] | None:
    """The processes of process group ``pgid`` that have not ended (zombies left out), by
    pid with their names; None where /proc cannot tell (not Linux)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    running = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended while we looked
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, _ppid, group = text[text.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state not in {"Z", "X"}:
            running[int(stat.parent.name)] = name
    return running


def reap_orphans(children: set[int]) -> list[int]:
    """Reap every exited child of this process that is not one of ``children`` (whose exit
    codes their own ``poll`` reads); return their pids. Stops at the first exited child that
    is one of ``children``: its ``poll`` reaps it, and the next call goes on."""
    reaped = []
    while True:
        try:  # WNOWAIT: look without reaping, so a supervised child's status stays readable
            exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # no children at all
            return reaped
        if exited is None or exited.si_pid in children:
            return reaped
        os.waitpid(exited.si_pid, 0)
        reaped.append(exited.si_pid)


class _Child:
    """One supervised child: its command (or a function that forks it), its process, and
    when it may start again."""

    def __init__(
        self,
        name: str,
        command: list[str] | None = None,
        *,
        fork: Callable[[], "_ForkedProcess"] | None = None,
    ):
        self.name = name
        self.command = command
        self.fork = fork
        self.process: subprocess.Popen | _ForkedProcess | None = None
        self.started_at = 0.0
        self.failures = 0  # deaths in a row, each within STABLE_AFTER_SECONDS of its start
        self.restart_at: float | None = None

    def start(self) -> None:
        # A process group of its own: a Ctrl-C in the terminal reaches only serve, which then
        # stops each child once with SIGTERM (a Celery worker that got the terminal's SIGINT
        # as well as our SIGTERM would count two signals and exit with 1).
        if self.fork is not None:
            self.process = self.fork()
        else:
            self.process = subprocess.Popen(self.command, process_group=0)
        self.started_at = time.monotonic()
        self.restart_at = None

    def supervise(self) -> None:
        """Called every poll: note a death and schedule the restart, or do the restart."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
                logger.warning("serve: %s restarted (pid %s)", self.name, self.process.pid)
            return
        code = self.process.poll()
        if code is None:
            return
        if now - self.started_at >= STABLE_AFTER_SECONDS:
            self.failures = 0
        delay = RESTART_BACKOFF_SECONDS[min(self.failures, len(RESTART_BACKOFF_SECONDS) - 1)]
        self.failures += 1
        self.restart_at = now + delay
        logger.error(
            "serve: %s (pid %s) exited with code %s; restarting it in %.0f s (restart %d in a row)",
            self.name,
            self.process.pid,
            code,
            delay,
            self.failures,
        )
        # What the dead child left in its process group (a worker's beat and pool processes,
        # a gunicorn master's workers) would run on beside its successor: a second beat, a
        # second holder of the port. The group ends with it.
        self.kill_group()

    def kill_group(self, grace: float = 0.0) -> None:
        """SIGKILL whatever still runs in the child's process group (the child made it),
        after ``grace`` seconds for it to end by itself. Zombies do not count: they have ended,
        and serve, their subreaper, reaps them."""
        deadline = time.monotonic() + grace
        live = group_running(self.process.pid)
        while live and time.monotonic() < deadline:
            time.sleep(0.05)
            live = group_running(self.process.pid)
        if live is not None and not live:
            return  # nothing runs there
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return  # nothing left
        logger.warning(
            "serve: killed what %s left in its process group%s",
            self.name,
            "" if live is None else ": " + ", ".join(f"{pid} {name}" for pid, name in live.items()),
        )

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


class Command(BaseCommand):
    help = "Run gunicorn on $PORT (default 8000) and a Celery worker with beat beside it."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1"))
        parser.add_argument("--web-workers", default=os.environ.get("WEB_CONCURRENCY", "2"))
        parser.add_argument("--threads", default=os.environ.get("WEB_THREADS", "8"))

    def handle(self, *args, port: str, bind: str, web_workers: str, threads: str, **kw):
        web = web_command(bind=bind, port=port, web_workers=web_workers, threads=threads)
        subreaper = become_subreaper()
        children = [_Child("web", web), _Child("worker", fork=worker_fork)]
        children[0].start()
        worker_preload()  # while gunicorn boots
        children[1].start()
        self.stdout.write(f"Quorum is up on http://{bind}:{port}/ (Ctrl-C stops it)")

        stopping = False

        def stop(signum, _frame):
            nonlocal stopping
            stopping = True

        # SIGHUP too: the children are not in the terminal's process group, so closing the
        # terminal would otherwise leave them running.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
        while not stopping:
            for child in children:
                child.supervise()
            if subreaper:
                orphans = reap_orphans({c.process.pid for c in children if c.process})
                if orphans:
                    logger.info("serve: reaped %d orphaned processes %s", len(orphans), orphans)
            time.sleep(POLL_SECONDS)
        for child in children:
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("serve: %s did not stop within %d s; killing it", child.name,
                             STOP_GRACE_SECONDS)  # fmt: skip
                child.process.kill()
                child.process.wait()
            child.kill_group(grace=2.0)  # a child that exited leaves nothing behind
        if subreaper:
            time.sleep(0.2)  # what the last kills orphaned
            reap_orphans(set())
        codes = [child.process.returncode for child in children]
        self.stdout.write(f"stopped (exit codes: web {codes[0]}, worker {codes[1]})")
