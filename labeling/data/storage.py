"""Reading and writing ``s3://bucket/key``: a minimal version, the folder MEDIA_ROOT/bucket/key.

The S3 data plane (issue 15, point 4) replaces this module with boto3 underneath; the three
functions keep these signatures.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from django.conf import settings

from labeling.errors import QuorumError


class StorageError(QuorumError):
    status_code = 502
    code = "storage_error"


def _local_path(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
        raise StorageError(f"{uri!r} is not an s3://bucket/key URI", details={"uri": uri})
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / parts.netloc / parts.path.lstrip("/")).resolve()
    if root not in path.parents:
        raise StorageError(f"{uri!r} leaves the storage folder", details={"uri": uri})
    return path


def storage_open(uri: str) -> BinaryIO:
    """A streaming reader of the object at ``uri``; StorageError naming it when it cannot."""
    path = _local_path(uri)
    try:
        return path.open("rb")
    except OSError as exc:
        raise StorageError(
            f"cannot read {uri}: {exc.strerror or exc}", details={"uri": uri}
        ) from None


def storage_write(
    uri: str, body: bytes | Iterable[bytes], content_type: str = "application/octet-stream"
) -> None:
    """Write (or overwrite: idempotent) the object at ``uri``."""
    path = _local_path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        for chunk in [body] if isinstance(body, bytes) else body:
            out.write(chunk)
    partial.replace(path)


def storage_exists(uri: str) -> bool:
    return _local_path(uri).is_file()
