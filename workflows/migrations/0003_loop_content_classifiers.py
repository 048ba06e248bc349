"""Loops keep their content classifiers; flows' backing jobs become open-ended.

Backing jobs used to count one reserved item slot more than they held so that they never
completed; they are now open-ended jobs instead, so the slot is given back.
"""

from django.db import migrations, models
from django.db.models import F


def open_backing_jobs(apps, schema_editor):
    Job = apps.get_model("labeling", "Job")
    Job.objects.filter(flow__isnull=False, open_ended=False, items_total__gte=1).update(
        open_ended=True, items_total=F("items_total") - 1
    )


def close_backing_jobs(apps, schema_editor):
    Job = apps.get_model("labeling", "Job")
    Job.objects.filter(flow__isnull=False, open_ended=True).update(
        open_ended=False, items_total=F("items_total") + 1
    )


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0002_backing_jobs_unlisted"),
        ("labeling", "0008_open_ended_jobs_items_added"),
    ]

    operations = [
        migrations.AddField(
            model_name="humanloop",
            name="content_classifiers",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(open_backing_jobs, close_backing_jobs),
    ]
