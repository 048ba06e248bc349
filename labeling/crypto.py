"""Secrets that must be read back (SigV4 access-key secrets), encrypted at rest with Fernet.

The key is ``QUORUM_SECRET_ENCRYPTION_KEY`` (Fernet keys, comma-separated: the first encrypts,
each decrypts, so a key can be rotated); unset, one is derived from ``SECRET_KEY`` with HKDF,
and changing ``SECRET_KEY`` then makes the stored secrets unreadable. See docs/operations.md.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

HKDF_INFO = b"quorum: secrets at rest"


class SecretUnreadable(ValueError):
    """A stored secret that none of the configured keys decrypts."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from Django's SECRET_KEY (HKDF-SHA256)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


@functools.cache
def _box(configured: str, secret_key: str) -> MultiFernet:
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if not keys:
        keys = [derived_key(secret_key).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def _current_box() -> MultiFernet:
    return _box(settings.QUORUM_SECRET_ENCRYPTION_KEY, settings.SECRET_KEY)


def secret_encrypt(plain: str) -> str:
    return _current_box().encrypt(plain.encode()).decode()


def secret_decrypt(stored: str) -> str:
    try:
        return _current_box().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret does not decrypt with the configured key "
            "(QUORUM_SECRET_ENCRYPTION_KEY, or SECRET_KEY when that is unset)"
        ) from None
