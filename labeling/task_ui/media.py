"""Signed, expiring media URLs: what the ``grant_read_access`` filter hands a task template.

The token carries the media reference and an expiry, signed with the secret key (its own
salt), so the media endpoint can serve it to whoever holds the URL until it expires and to
nobody after, without a session.
"""

import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core import signing

SALT = "quorum.media.grant_read_access"
DEFAULT_TTL_SECONDS = 3600
SIGNED_MEDIA_PREFIX = "/api/v1/media/signed/"


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
    parsed = urlparse(ref)
    if parsed.scheme == "s3":
        relative = f"{parsed.netloc}/{parsed.path.lstrip('/')}"
    elif parsed.scheme:
        return None
    else:
        relative = ref.lstrip("/")
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    return path if root in path.parents else None
