"""manage.py serve: run the web server (gunicorn) and a Celery worker with its lease sweeper.

Both run as child processes; SIGINT, SIGTERM or SIGHUP stops both cleanly, and if either dies the
other is stopped too, so nothing is left running half-alive.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_GRACE_SECONDS = 20


class Command(BaseCommand):
    help = "Run gunicorn on $PORT (default 8000) and a Celery worker with beat beside it."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1"))
        parser.add_argument("--web-workers", default=os.environ.get("WEB_CONCURRENCY", "2"))
        parser.add_argument("--threads", default=os.environ.get("WEB_THREADS", "8"))

    def handle(self, *args, port: str, bind: str, web_workers: str, threads: str, **kw):
        python = sys.executable
        web = [
            python,
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
        ]
        verbose = settings.LOG_LEVEL in {"DEBUG", "INFO"}
        if verbose:  # one line per request only when asked for (the demo's terminal is quiet)
            web += ["--access-logfile", "-"]
        worker = [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            *([] if verbose else ["--quiet"]),  # --quiet: no start-up banner
            "worker",
            "--beat",
            "--loglevel",
            settings.LOG_LEVEL.lower(),
            "--concurrency",
            os.environ.get("CELERY_CONCURRENCY", "2"),
            "--schedule",
            str(settings.VAR_DIR / "celerybeat-schedule"),
        ]
        if not settings.REDIS_URL:
            worker += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        # Each child in a process group of its own: a Ctrl-C in the terminal reaches only this
        # command, which then stops each child once with SIGTERM (a Celery worker that got the
        # terminal's SIGINT as well as our SIGTERM would count two signals and exit with 1).
        children = [
            subprocess.Popen(web, process_group=0),
            subprocess.Popen(worker, process_group=0),
        ]
        self.stdout.write(f"Quorum is up on http://{bind}:{port}/ (Ctrl-C stops it)")

        stopping = False

        def stop(signum, _frame):
            nonlocal stopping
            stopping = True

        # SIGHUP too: the children are not in the terminal's process group, so closing the
        # terminal would otherwise leave them running.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        codes = [child.returncode for child in children]
        self.stdout.write(f"stopped (exit codes: web {codes[0]}, worker {codes[1]})")
