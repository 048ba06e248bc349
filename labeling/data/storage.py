"""One storage interface for ``s3://bucket/key`` and media paths: S3 through boto3, or the disk.

With an object store configured (``QUORUM_STORAGE=s3``, or ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL`` set), ``s3://bucket/key`` is read and written with boto3 and its standard
configuration (credential chain, ``AWS_ENDPOINT_URL_S3``, region), so any S3-compatible store
works. Without one, ``s3://bucket/key`` is the file ``MEDIA_ROOT/bucket/key``, as before, so the
embedded default needs nothing. A plain path (``jobs/3/a.png``) is always under ``MEDIA_ROOT``.
Reads stream; writes are whole-object and idempotent (the same bytes to the same key twice
leave one object).
"""

import io
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from labeling.errors import QuorumError

# Bodies up to this size are sent with one PutObject; larger ones go through boto3's managed
# (multipart) transfer from a spooled temporary file.
SINGLE_PUT_MAX_BYTES = 8 * 2**20
READ_CHUNK_BYTES = 256 * 2**10


class StorageError(QuorumError):
    """A read or write of a storage URI failed (the message names the URI)."""

    status_code = 502
    code = "storage_error"


class StorageNotFound(StorageError):
    """The object or file is not there."""

    status_code = 404
    code = "storage_not_found"


@dataclass(frozen=True)
class Location:
    """Where a URI lives: an S3 bucket and key, or a file under ``MEDIA_ROOT``."""

    uri: str
    bucket: str = ""
    key: str = ""
    path: Path | None = None

    @property
    def is_s3(self) -> bool:
        return self.path is None


def storage_s3_enabled() -> bool:
    """True when ``s3://`` URIs go to an object store rather than ``MEDIA_ROOT``."""
    return getattr(settings, "QUORUM_STORAGE", "local") == "s3"


def storage_is_uri(ref: str) -> bool:
    return ref.startswith("s3://")


def storage_locate(uri: str) -> Location:
    """The bucket and key (object store) or file (disk) of ``uri``; raises ``StorageError``."""
    text = (uri or "").strip()
    parsed = urlparse(text)
    if parsed.scheme == "s3":
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        if not bucket or not key:
            raise StorageError(f"{text!r} is not a complete s3://bucket/key URI")
        if storage_s3_enabled():
            return Location(uri=text, bucket=bucket, key=key)
        relative = f"{bucket}/{key}"
    elif parsed.scheme:
        raise StorageError(f"{text!r}: only s3:// URIs and media paths are storage")
    else:
        relative = text.lstrip("/")
    if not relative:
        raise StorageError("an empty storage path")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise StorageError(f"{text!r} is outside the media folder")
    return Location(uri=text, path=path)


def storage_local_path(uri: str) -> Path | None:
    """The file of ``uri`` when it lives on this disk (None for the object store or a bad URI)."""
    try:
        location = storage_locate(uri)
    except StorageError:
        return None
    return location.path


# --- boto3 -------------------------------------------------------------------------------------

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


def _client_key() -> tuple[Any, ...]:
    env = os.environ
    return (
        env.get("AWS_ENDPOINT_URL_S3"),
        env.get("AWS_ENDPOINT_URL"),
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_PROFILE"),
        env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION"),
        getattr(settings, "QUORUM_S3_ADDRESSING_STYLE", "auto"),
        getattr(settings, "QUORUM_S3_MAX_ATTEMPTS", 3),
    )


def s3_client() -> Any:
    """A boto3 ``s3`` client with the standard configuration (one per process and settings)."""
    key = _client_key()
    client = _clients.get(key)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            config = Config(
                connect_timeout=float(getattr(settings, "QUORUM_S3_CONNECT_TIMEOUT", 5)),
                read_timeout=float(getattr(settings, "QUORUM_S3_READ_TIMEOUT", 30)),
                retries={"mode": "standard", "max_attempts": key[-1]},
                s3={"addressing_style": key[-2]},
            )
            client = boto3.session.Session().client("s3", config=config)
            _clients.clear()
            _clients[key] = client
    return client


def _s3_failure(uri: str, exc: Exception, action: str) -> StorageError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
            return StorageNotFound(f"{uri} does not exist ({code})", details={"uri": uri})
        return StorageError(
            f"{action} {uri} failed: {code} {error.get('Message', '')}".strip(),
            details={"uri": uri},
        )
    return StorageError(f"{action} {uri} failed: {type(exc).__name__}", details={"uri": uri})


class _S3Raw(io.RawIOBase):
    """A raw stream over a GetObject body, so ``io.BufferedReader`` gives ``readline``."""

    def __init__(self, body: Any, uri: str):
        self._body = body
        self._uri = uri

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:  # a dropped connection mid-read
            raise _s3_failure(self._uri, exc, "reading") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


# --- the interface -----------------------------------------------------------------------------


def storage_open(uri: str) -> BinaryIO:
    """A streaming binary reader of ``uri``; raises ``StorageNotFound`` or ``StorageError``."""
    location = storage_locate(uri)
    if location.path is not None:
        try:
            return location.path.open("rb")
        except FileNotFoundError:
            raise StorageNotFound(f"{uri} does not exist", details={"uri": uri}) from None
        except OSError as exc:
            raise StorageError(f"reading {uri} failed: {exc.strerror}") from exc
    try:
        response = s3_client().get_object(Bucket=location.bucket, Key=location.key)
    except Exception as exc:
        raise _s3_failure(uri, exc, "reading") from exc
    stream = io.BufferedReader(_S3Raw(response["Body"], uri), buffer_size=READ_CHUNK_BYTES)
    stream.content_length = int(response.get("ContentLength") or 0)  # type: ignore[attr-defined]
    stream.content_type = str(response.get("ContentType") or "")  # type: ignore[attr-defined]
    return stream  # type: ignore[return-value]


def storage_read(uri: str, *, max_bytes: int | None = None) -> bytes:
    """The whole of a small object (a template, a label configuration); refuses bigger ones."""
    with storage_open(uri) as stream:
        data = stream.read(-1 if max_bytes is None else max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise StorageError(f"{uri} is over {max_bytes} bytes", details={"uri": uri})
    return data


def storage_exists(uri: str) -> bool:
    location = storage_locate(uri)
    if location.path is not None:
        return location.path.is_file()
    try:
        s3_client().head_object(Bucket=location.bucket, Key=location.key)
    except Exception as exc:
        failure = _s3_failure(uri, exc, "checking")
        if isinstance(failure, StorageNotFound):
            return False
        raise failure from exc
    return True


def storage_size(uri: str) -> int:
    """The size in bytes; raises ``StorageNotFound``."""
    location = storage_locate(uri)
    if location.path is not None:
        try:
            return location.path.stat().st_size
        except FileNotFoundError:
            raise StorageNotFound(f"{uri} does not exist", details={"uri": uri}) from None
    try:
        head = s3_client().head_object(Bucket=location.bucket, Key=location.key)
    except Exception as exc:
        raise _s3_failure(uri, exc, "checking") from exc
    return int(head.get("ContentLength") or 0)


def _chunks(body: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        yield bytes(body)
        return
    for chunk in body:
        if chunk:
            yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)


def storage_write(
    uri: str,
    body: bytes | Iterable[bytes],
    content_type: str = "application/octet-stream",
) -> None:
    """Write the whole object at ``uri`` (replacing it): idempotent, never half-written.

    On disk the bytes go to a temporary file beside the target, renamed over it; on S3 one
    PutObject (or a multipart upload for big bodies) replaces the object atomically. botocore
    retries transient failures; what still fails raises ``StorageError``.
    """
    location = storage_locate(uri)
    if location.path is not None:
        _write_file(location.path, _chunks(body), uri)
        return
    client = s3_client()
    if isinstance(body, bytes | bytearray | memoryview):
        _put(client, location, bytes(body), content_type)
        return
    with tempfile.SpooledTemporaryFile(max_size=SINGLE_PUT_MAX_BYTES) as spool:
        size = 0
        for chunk in _chunks(body):
            spool.write(chunk)
            size += len(chunk)
        spool.seek(0)
        if size <= SINGLE_PUT_MAX_BYTES:
            _put(client, location, spool.read(), content_type)
            return
        try:
            client.upload_fileobj(
                spool,
                location.bucket,
                location.key,
                ExtraArgs={"ContentType": content_type},
            )
        except Exception as exc:
            raise _s3_failure(uri, exc, "writing") from exc


def _put(client: Any, location: Location, data: bytes, content_type: str) -> None:
    try:
        client.put_object(
            Bucket=location.bucket, Key=location.key, Body=data, ContentType=content_type
        )
    except Exception as exc:
        raise _s3_failure(location.uri, exc, "writing") from exc


def _write_file(path: Path, chunks: Iterator[bytes], uri: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StorageError(f"writing {uri} failed: {exc.strerror}", details={"uri": uri}) from exc


def storage_delete(uri: str) -> None:
    """Remove ``uri`` if it is there (idempotent)."""
    location = storage_locate(uri)
    if location.path is not None:
        location.path.unlink(missing_ok=True)
        return
    try:
        s3_client().delete_object(Bucket=location.bucket, Key=location.key)
    except Exception as exc:
        raise _s3_failure(uri, exc, "deleting") from exc


def storage_join(prefix: str, *parts: str) -> str:
    """``s3://b/out`` + ``job``, ``x`` → ``s3://b/out/job/x`` (one slash between parts)."""
    text = prefix.rstrip("/")
    for part in parts:
        text = f"{text}/{part.strip('/')}"
    return text
