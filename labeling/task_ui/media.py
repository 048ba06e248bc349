"""Signed, expiring media URLs: what the ``grant_read_access`` filter hands a task template.

The token carries the media reference and an expiry, signed with the secret key (its own
salt), so the media endpoint can serve it to whoever holds the URL until it expires and to
nobody after, without a session.
"""

import mimetypes
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core import signing
from django.http import FileResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase

from labeling.data.storage import StorageError, storage_locate, storage_open
from labeling.errors import NotFound

SALT = "quorum.media.grant_read_access"
DEFAULT_TTL_SECONDS = 3600
SIGNED_MEDIA_PREFIX = "/api/v1/media/signed/"
# Bytes per chunk when an object is streamed from the object store to the browser.
STREAM_BLOCK_BYTES = 64 * 2**10
# Object types besides images, video and audio (SVG excepted) that links serve inline.
INLINE_TYPES = frozenset({"application/pdf", "text/plain", "application/json"})


class MediaGrantInvalid(Exception):
    """A token that is forged, damaged or expired; the message says which."""


def media_ttl_seconds() -> int:
    return int(getattr(settings, "QUORUM_MEDIA_URL_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def grant_read_access(
    ref: object, *, ttl_seconds: int | None = None, now: float | None = None
) -> str:
    """A URL that serves ``ref`` (a media path, ``s3://bucket/key`` or http(s) URL) for a while."""
    text = "" if ref is None else str(ref).strip()
    if not text:
        return ""
    if text.startswith(("data:", SIGNED_MEDIA_PREFIX)):
        return text
    expires = int((now if now is not None else time.time()) + (ttl_seconds or media_ttl_seconds()))
    token = signing.dumps({"r": text, "e": expires}, salt=SALT, compress=True)
    return f"{SIGNED_MEDIA_PREFIX}{token}"


def media_grant_open(token: str, *, now: float | None = None) -> str:
    """The media reference behind ``token``; raises ``MediaGrantInvalid``."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise MediaGrantInvalid("the media link is not valid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), str):
        raise MediaGrantInvalid("the media link is not valid")
    if (now if now is not None else time.time()) > int(payload.get("e", 0)):
        raise MediaGrantInvalid("the media link has expired; reload the task")
    return payload["r"]


def media_local_path(ref: str) -> Path | None:
    """The file under ``MEDIA_ROOT`` for a path or ``s3://bucket/key`` ref (None if outside).

    Without object storage, ``s3://bucket/key`` is read from ``MEDIA_ROOT/bucket/key``.
    """
    try:
        return storage_locate(ref).path
    except StorageError:
        return None


def media_response(ref: str, *, cache_seconds: int) -> HttpResponseBase:
    """The media behind ``ref``: a redirect for http(s), else its bytes streamed from storage.

    A file of the media folder is served as a file; an object of the S3 store is streamed in
    blocks as boto3 reads it (never held whole in memory). Raises ``NotFound`` when it is
    missing and ``StorageError`` (502) when the store fails.
    """
    if urlparse(ref).scheme in ("http", "https"):
        return HttpResponseRedirect(ref)
    try:
        location = storage_locate(ref)
    except StorageError:
        raise NotFound("the media file is missing") from None
    if location.path is not None:
        if not location.path.is_file():
            raise NotFound("the media file is missing")
        response = FileResponse(location.path.open("rb"))
    else:
        try:
            stream = storage_open(ref)
        except StorageError as exc:
            if exc.status_code == 404:
                raise NotFound("the media file is missing") from None
            raise
        guessed = mimetypes.guess_type(location.key)[0]
        content_type = getattr(stream, "content_type", "")
        if not content_type or content_type in ("binary/octet-stream", "application/octet-stream"):
            content_type = guessed or "application/octet-stream"
        # Served from Quorum's own origin: whatever the object claims, nothing that a browser
        # would run as a page (HTML, SVG, scripts) is served inline.
        inline = content_type.split(";")[0].strip().lower() in INLINE_TYPES or (
            content_type.startswith(("image/", "video/", "audio/")) and "svg" not in content_type
        )
        response = FileResponse(
            stream, content_type=content_type if inline else "application/octet-stream"
        )
        if not inline:
            response["Content-Disposition"] = "attachment"
        response.block_size = STREAM_BLOCK_BYTES
        if getattr(stream, "content_length", 0):
            response["Content-Length"] = str(stream.content_length)
    response["Cache-Control"] = f"private, max-age={cache_seconds}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
