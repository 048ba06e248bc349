"""Issue 14, the data manager: bulk actions, the review marker and thumbnails of items, and on
PostgreSQL a trigram index over each item's text for its text search (SQLite: no index, the
search scans the job's items; correct, slower).

The index is over ``UPPER(data)`` because that is what Django's ``icontains`` compares. Its
pending list (rows updated since the last vacuum, which every search reads in full) is kept
to 256 kB rather than 4 MB: after a bulk update of 100,000 items a search for a rare term took
4 s until the next vacuum.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def text_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS item_text_trgm ON labeling_item "
        "USING gin (UPPER(data) gin_trgm_ops) WITH (gin_pending_list_limit = 256)"
    )


def drop_text_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS item_text_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0014_t15s3_storage_outputs"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="review_requested",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="item",
            name="thumbnail",
            field=models.CharField(blank=True, db_default="", default="", max_length=300),
        ),
        migrations.CreateModel(
            name="BulkAction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("more_answers", "Send for more answers"),
                            ("review", "Send to review"),
                            ("priority", "Set priority"),
                            ("gold", "Mark as gold"),
                            ("ungold", "Unmark gold"),
                            ("export", "Export"),
                            ("delete", "Delete"),
                        ],
                        max_length=16,
                    ),
                ),
                ("selection", models.JSONField(default=dict)),
                ("params", models.JSONField(blank=True, default=dict)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=16,
                    ),
                ),
                ("total", models.PositiveIntegerField(default=0)),
                ("done", models.PositiveIntegerField(default=0)),
                ("skipped", models.PositiveIntegerField(default=0)),
                ("last_item_id", models.BigIntegerField(default=0)),
                ("message", models.CharField(blank=True, max_length=500)),
                ("result_path", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="bulk_actions",
                        to="labeling.job",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["job", "-created_at"], name="bulkaction_job_created")
                ],
            },
        ),
        migrations.AddIndex(
            model_name="consolidatedlabel",
            index=models.Index(
                condition=models.Q(
                    ("method__in", ("manual", "review", "reviewed")),
                    ("review_status__in", ("accepted", "fixed")),
                    _connector="OR",
                ),
                fields=["item"],
                name="consolidated_reviewed",
            ),
        ),
        migrations.RunPython(text_search_index, drop_text_search_index, elidable=False),
    ]
