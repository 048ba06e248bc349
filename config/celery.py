"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in each app."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("quorum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _touch_ready_file(**_kwargs) -> None:
    """Tell whoever started this worker that it is ready (``manage.py run_demo`` waits for it
    so that the demo sign-ins are the terminal's last lines)."""
    ready_file = os.environ.get("QUORUM_WORKER_READY_FILE")
    if ready_file:
        Path(ready_file).touch()
