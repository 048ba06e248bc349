"""Move a job's labeled-items and answers counters into JobCounter shards.

The existing totals become shard 0 of each job, so no progress is lost.
"""

import django.db.models.deletion
from django.db import migrations, models


def _totals_to_shard_zero(apps, schema_editor):
    Job = apps.get_model("labeling", "Job")
    JobCounter = apps.get_model("labeling", "JobCounter")
    counters = [
        JobCounter(job_id=job_id, shard=0, items_labeled=labeled, answers=answers)
        for job_id, labeled, answers in Job.objects.values_list(
            "id", "items_labeled", "answers_total"
        ).iterator()
    ]
    JobCounter.objects.bulk_create(counters, batch_size=1000)


def _shards_to_totals(apps, schema_editor):
    Job = apps.get_model("labeling", "Job")
    JobCounter = apps.get_model("labeling", "JobCounter")
    totals = JobCounter.objects.values("job_id").annotate(
        labeled=models.Sum("items_labeled"), answers=models.Sum("answers")
    )
    for row in totals.iterator():
        Job.objects.filter(pk=row["job_id"]).update(
            items_labeled=row["labeled"], answers_total=row["answers"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="JobCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("shard", models.PositiveSmallIntegerField()),
                ("items_labeled", models.IntegerField(default=0)),
                ("answers", models.IntegerField(default=0)),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="counters",
                        to="labeling.job",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("job", "shard"), name="jobcounter_job_shard")
                ],
            },
        ),
        migrations.RunPython(_totals_to_shard_zero, _shards_to_totals),
        migrations.RemoveConstraint(model_name="job", name="job_labeled_le_total"),
        migrations.RemoveField(model_name="job", name="answers_total"),
        migrations.RemoveField(model_name="job", name="items_labeled"),
    ]
