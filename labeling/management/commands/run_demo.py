"""manage.py run_demo: what ``make run`` runs — the database, the demo data, the web server and
the worker, and, once both are up, the demo sign-ins as the terminal's last lines.
"""

import io
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

from labeling.management.commands.load_demo import LABELERS, MANAGER
from labeling.management.commands.serve import Command as ServeCommand

UP_WITHIN_SECONDS = 120


class Command(BaseCommand):
    help = "Migrate, load the demo, serve it (manage.py serve) and print the demo sign-ins."

    def add_arguments(self, parser):
        ServeCommand().add_arguments(parser)

    def handle(self, *args, port: str, bind: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_demo", stdout=io.StringIO())
        host = "127.0.0.1" if bind in {"0.0.0.0", "::", ""} else bind
        url = f"http://{host}:{port}/"
        with tempfile.TemporaryDirectory(prefix="quorum-demo-") as folder:
            # The worker touches this file when it is ready (config/celery.py); its start-up
            # warnings come before that, so the sign-ins stay the last lines.
            ready_file = Path(folder) / "worker-ready"
            os.environ["QUORUM_WORKER_READY_FILE"] = str(ready_file)
            announcer = threading.Thread(
                target=self._announce_when_up, args=(url, ready_file), daemon=True
            )
            announcer.start()
            call_command("serve", port=port, bind=bind, **options)

    def _announce_when_up(self, url: str, ready_file: Path) -> None:
        deadline = time.monotonic() + UP_WITHIN_SECONDS
        while not (ready_file.exists() and _answers(url + "healthz")):
            if time.monotonic() > deadline:
                return  # serve's own output says what went wrong
            time.sleep(0.5)
        lines = [
            "",
            f"Quorum's demo is up on {url} (Ctrl-C stops it; LOG_LEVEL=INFO make run shows more).",
            "Demo sign-ins (published passwords: this is a demo, not a production install):",
            f"  manager  {MANAGER[0]} / {MANAGER[1]}  (console: {url}console/)",
            *(
                f"  labeler  {name} / {password}  (portal: {url}work/)"
                for name, password in LABELERS
            ),
        ]
        self.stdout.write("\n".join(lines))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # up, though a check is failing: /healthz and the logs say which
    except OSError:
        return False
