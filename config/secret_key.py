"""The installation's own secret key: made once in the data folder, then read by every process.

Without ``SECRET_KEY`` in the environment (development and the demo), each process used to draw
a key of its own, so a session signed in one web worker was refused by the other. Instead the
first process to start writes a key to ``<VAR_DIR>/secret_key`` (owner-only, 0600) and every
process, now and after restarts, reads that one file.
"""

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

KEY_FILE_NAME = "secret_key"
MIN_KEY_LENGTH = 32


class SecretKeyFileError(RuntimeError):
    """The key file exists but cannot be used (readable by others, or too short)."""


def installation_secret_key(var_dir: Path) -> str:
    """The key in ``var_dir/secret_key``, creating it if this is the installation's first start.

    The file appears complete or not at all: the key is written to a private temporary file
    that is then hard-linked into place, which fails if another process got there first; so
    processes that start at the same moment all end up reading the same key.
    """
    var_dir = Path(var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{KEY_FILE_NAME}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(secrets.token_urlsafe(50) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # If another process made the file first, its key is the installation's.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _read_key_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyFileError(
            f"{path} is readable by other users; make it the owner's only: chmod 600 {path}"
        )
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise SecretKeyFileError(
            f"{path} holds no usable key (shorter than {MIN_KEY_LENGTH} characters); "
            "delete it and a new one is made on the next start (signed-in users sign in again)"
        )
    return key
