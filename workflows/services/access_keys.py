"""Access key pairs for the runtime API: issued to a user, revoked at once."""

import secrets
import string

from django.db import transaction
from django.utils import timezone

from labeling.crypto import secret_encrypt
from labeling.errors import NotAllowed
from labeling.models import User
from workflows.models import AccessKey
from workflows.selectors import forget_signing_secret

KEY_ID_PREFIX = "QKIA"
KEY_ID_ALPHABET = string.ascii_uppercase + "234567"
KEY_ID_RANDOM_CHARS = 16
SECRET_BYTES = 30


@transaction.atomic
def access_key_create(*, user: User) -> AccessKey:
    """Issue a key pair to a manager (the runtime API acts with its owner's rights).

    The secret is stored encrypted; the returned key alone carries it in plain, as
    ``secret_access_key``, to be shown once.
    """
    if not user.is_manager:
        raise NotAllowed("access keys are issued to project managers only", code="not_manager")
    key_id = KEY_ID_PREFIX + "".join(
        secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_RANDOM_CHARS)
    )
    secret = secrets.token_urlsafe(SECRET_BYTES)
    key = AccessKey.objects.create(
        user=user, access_key_id=key_id, secret_encrypted=secret_encrypt(secret)
    )
    key.secret_access_key = secret
    return key


def access_key_revoke(*, key: AccessKey) -> AccessKey:
    """Revoke a key: refused at once by this process, within QUORUM_A2I_KEY_CACHE_SECONDS by
    the others (they remember secrets that long)."""
    revoked_at = timezone.now()
    if AccessKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=revoked_at):
        key.revoked_at = revoked_at
    forget_signing_secret(access_key_id=key.access_key_id)
    return key
