"""Helpers for tests that run Quorum in processes of its own, as a newcomer or an operator does.

Each run gets an environment with none of the suite's own settings (no ``DATABASE_URL``,
``REDIS_URL``, ``QUORUM_*``, ``DJANGO_*``, ``CELERY_*``): the embedded default in a data
folder of its own.
"""

import json
import os
import socket
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free loopback port: from ``QUORUM_TEST_PORTS`` (``low-high``) when set, else any."""
    span = os.environ.get("QUORUM_TEST_PORTS", "")
    candidates = range(int(span.split("-")[0]), int(span.split("-")[1]) + 1) if span else [0]
    for candidate in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in QUORUM_TEST_PORTS={span}")


def embedded_env(var_dir: Path, **values: str) -> dict[str, str]:
    """The environment of a fresh install in ``var_dir``, plus ``values``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "QUORUM_", "CELERY_", "GUNICORN_"))
        and key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "LOG_LEVEL", "PORT"}
    }
    env.update(QUORUM_VAR_DIR=str(var_dir), **values)
    return env


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None
