"""PostgreSQL: vacuum and analyze the claim-queue tables far sooner than the defaults.

Every claim walks the head of ``item_claim_queue``; the dead row versions that claims,
answers and expiries leave there make each walk longer until a vacuum clears them. The
defaults wait for 20 % of the table to be dead (200,000 rows of a 1M-item table).
Measured in bench/RESULTS.md ("What limited it"). SQLite has no vacuum to tune.
"""

from django.db import migrations

TABLES = ("labeling_item", "labeling_assignment")
SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_vacuum_insert_scale_factor": "0.02",
}


def tune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    options = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET ({options})")


def untune(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [("labeling", "0002_job_counter_shards")]

    operations = [migrations.RunPython(tune, untune, elidable=False)]
