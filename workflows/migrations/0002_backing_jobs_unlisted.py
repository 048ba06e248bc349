"""Flows' backing jobs leave the console's jobs list (``Job.listed``); their flow links them."""

from django.db import migrations


def unlist_backing_jobs(apps, schema_editor):
    Job = apps.get_model("labeling", "Job")
    Job.objects.filter(flow__isnull=False).update(listed=False)


def list_backing_jobs(apps, schema_editor):
    Job = apps.get_model("labeling", "Job")
    Job.objects.filter(flow__isnull=False).update(listed=True)


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0006_job_listed"),
        ("workflows", "0001_review_loops"),
    ]

    operations = [migrations.RunPython(unlist_backing_jobs, list_backing_jobs)]
