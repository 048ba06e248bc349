"""Issue 20 and issue 14 point 7: the claim's cursor per (job, worker), and room on the item
table's pages so that claims and submits update items in place (HOT).

Every claim adds one to an item's ``taken`` and every submit one to its ``answers``; neither
column is in an index, so PostgreSQL can write the new row version on the same page and
leave the indexes alone (a HOT update) -- if the page has room. Imported items fill their
pages completely (fillfactor 100), so without this the first update of every item moves it
to another page and adds an entry to each of the item table's indexes, the claim queue's
included, which every claim then walks past until a vacuum. fillfactor 70 leaves 30 % of
each page free for those versions (the table is about 40 % larger). The cursor table is
updated by every claim: half of each page is kept free for the same reason.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FILLFACTORS = {"labeling_item": 70, "labeling_claimcursor": 50}


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, fillfactor in FILLFACTORS.items():
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE labeling_item RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0015_t14dm_data_manager"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ClaimCursor",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("priority", models.IntegerField()),
                ("item_id", models.BigIntegerField()),
                (
                    "job",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="labeling.job",
                    ),
                ),
                (
                    "worker",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("job", "worker"), name="claimcursor_job_worker")
                ],
            },
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
