"""API tokens are kept as their SHA-256 (issue 12): each existing token of DRF's authtoken
table is hashed into labeling_apitoken and its plain row deleted; the tokens keep working."""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def hash_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("labeling", "ApiToken")
    ApiToken.objects.bulk_create(
        ApiToken(user_id=user_id, digest=hashlib.sha256(key.encode()).hexdigest())
        for key, user_id in Token.objects.values_list("key", "user_id").iterator()
    )
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0009_t12_import_leases"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_token",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        # Irreversible data: a hash gives no token back (going back leaves tokens unusable).
        migrations.RunPython(hash_tokens, migrations.RunPython.noop),
    ]
