"""Issue 20: the data manager's searchable text leaves the item table for a table of its own.

The trigram index over ``UPPER(data)`` on ``labeling_item`` (0015) took ~40 entries on every
update of an item that was not HOT (every consolidation changes the status, a column of the
claim queue's index) and was 84 % of an import's time. The text of the items that exist is
copied first and the new table's index built after (in bulk: far faster than row by row);
then the old index goes. SQLite has no index: search scans the text rows.
"""

import django.db.models.deletion
from django.db import migrations, models


def copy_text_and_index(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO labeling_itemtext (item_id, text) SELECT id, data FROM labeling_item"
    )
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # The pending list is kept small for the reason 0015 gives (a search reads it in full).
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS item_search_text_trgm ON labeling_itemtext "
        "USING gin (UPPER(text) gin_trgm_ops) WITH (gin_pending_list_limit = 256)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS item_text_trgm")


def restore_item_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS item_text_trgm ON labeling_item "
        "USING gin (UPPER(data) gin_trgm_ops) WITH (gin_pending_list_limit = 256)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS item_search_text_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0024_no_single_column_fk_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="ItemText",
            fields=[
                (
                    "item",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="labeling.item",
                    ),
                ),
                ("text", models.TextField()),
            ],
        ),
        migrations.CreateModel(
            name="ItemTextBacklog",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_item_id", models.BigIntegerField()),
                ("last_item_id", models.BigIntegerField()),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="labeling.job",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("first_item_id__lte", models.F("last_item_id"))),
                        name="itemtextbacklog_range",
                    )
                ],
            },
        ),
        migrations.RunPython(copy_text_and_index, restore_item_index, elidable=False),
    ]
