"""Access-key secrets are stored encrypted and still verify SigV4 signatures (issue 12)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from labeling.crypto import derived_key, secret_decrypt, secret_encrypt
from workflows.selectors import forget_signing_secret, signing_secret
from workflows.services.access_keys import access_key_create

BEFORE = [("workflows", "0003_loop_content_classifiers")]
AFTER = [("workflows", "0004_t12_encrypted_access_key_secrets")]


def stored_columns() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM workflows_accesskey")
        return cursor.fetchall()


@pytest.mark.django_db
def test_the_secret_is_never_in_the_table_and_still_signs(manager):
    key = access_key_create(user=manager)
    secret = key.secret_access_key
    assert len(secret) >= 40
    (row,) = stored_columns()
    assert not any(secret in str(value) for value in row)
    forget_signing_secret(access_key_id=key.access_key_id)
    assert signing_secret(access_key_id=key.access_key_id) == secret


@pytest.mark.django_db
def test_the_key_comes_from_the_environment_and_may_be_rotated(manager, settings):
    old, new = derived_key("old").decode(), derived_key("new").decode()
    settings.QUORUM_SECRET_ENCRYPTION_KEY = old
    stored = secret_encrypt("s3cret")
    settings.QUORUM_SECRET_ENCRYPTION_KEY = f"{new},{old}"
    assert secret_decrypt(stored) == "s3cret"
    assert secret_decrypt(secret_encrypt("other")) == "other"
    settings.QUORUM_SECRET_ENCRYPTION_KEY = new
    with pytest.raises(ValueError, match="does not decrypt"):
        secret_decrypt(stored)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_secrets():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("labeling", "User")
    AccessKey = old.get_model("workflows", "AccessKey")
    pm = User.objects.create(username="pm-keys", role="manager")
    AccessKey.objects.create(user=pm, access_key_id="QKIAOLDKEY", secret_access_key="old-plain")
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        (row,) = stored_columns()
        assert not any("old-plain" in str(value) for value in row)
        forget_signing_secret(access_key_id="QKIAOLDKEY")
        assert signing_secret(access_key_id="QKIAOLDKEY") == "old-plain"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
