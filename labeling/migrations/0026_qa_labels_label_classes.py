"""The labels each consolidated value contains, for task types whose value holds several
(multi-label sets, boxes, polygons, masks, spans): the job page's per-label counts and the data
manager's label filter read them by index. Existing labels are backfilled in batches by id."""

import django.db.models.deletion
from django.db import migrations, models

from labeling.task_types import get_task_type
from labeling.task_types.base import holds_several_labels, labels_in_value

BACKFILL_BATCH = 2000


def backfill_classes(apps, schema_editor):
    job_model = apps.get_model("labeling", "Job")
    label_model = apps.get_model("labeling", "ConsolidatedLabel")
    class_model = apps.get_model("labeling", "ConsolidatedLabelClass")
    for job_id, task_type in job_model.objects.values_list("pk", "task_type").iterator():
        try:
            kind = get_task_type(task_type)
        except KeyError:  # a task type no longer registered: nothing to read its values by
            continue
        if not holds_several_labels(kind):
            continue
        last = 0
        while True:
            batch = list(
                label_model.objects.filter(job_id=job_id, pk__gt=last)
                .order_by("pk")
                .values_list("pk", "item_id", "value")[:BACKFILL_BATCH]
            )
            if not batch:
                break
            class_model.objects.bulk_create(
                class_model(consolidated_id=pk, item_id=item_id, job_id=job_id, label=label)
                for pk, item_id, value in batch
                for label in labels_in_value(kind, value) or []
            )
            last = batch[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0025_p20text_item_text"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConsolidatedLabelClass",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("label", models.CharField(max_length=200)),
                (
                    "consolidated",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="classes",
                        to="labeling.consolidatedlabel",
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="labeling.item",
                    ),
                ),
                (
                    "job",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="labeling.job",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["job", "label", "item"], name="consolidated_class_job_label"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("consolidated", "label"), name="consolidated_class_once"
                    )
                ],
            },
        ),
        migrations.RunPython(backfill_classes, migrations.RunPython.noop),
    ]
