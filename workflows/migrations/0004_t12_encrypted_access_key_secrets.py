"""Access-key secrets are stored encrypted (issue 12): each existing secret is encrypted
into the new column and the plain column goes."""

from django.db import migrations, models

from labeling.crypto import secret_decrypt, secret_encrypt


def encrypt_secrets(apps, schema_editor):
    AccessKey = apps.get_model("workflows", "AccessKey")
    for key in AccessKey.objects.only("pk", "secret_access_key").iterator():
        AccessKey.objects.filter(pk=key.pk).update(
            secret_encrypted=secret_encrypt(key.secret_access_key)
        )


def decrypt_secrets(apps, schema_editor):
    AccessKey = apps.get_model("workflows", "AccessKey")
    for key in AccessKey.objects.only("pk", "secret_encrypted").iterator():
        AccessKey.objects.filter(pk=key.pk).update(
            secret_access_key=secret_decrypt(key.secret_encrypted)
        )


class Migration(migrations.Migration):
    dependencies = [("workflows", "0003_loop_content_classifiers")]

    operations = [
        migrations.AddField(
            model_name="accesskey",
            name="secret_encrypted",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="accesskey",
            name="secret_access_key",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.RemoveField(model_name="accesskey", name="secret_access_key"),
    ]
