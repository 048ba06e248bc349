"""Mark each consolidated value's first label (code-point order) among its stored labels, and
give a value that holds no label one row of its own (label "", marked first): the data manager
sorts multi-label, drawing, span and video jobs by it, walking a partial index of the marked
rows. Existing rows are marked in batches by id before the index is built; the rows of values
without a label are added after it."""

from django.db import migrations, models
from django.db.models import Exists, Max, OuterRef

from labeling.task_types import get_task_type
from labeling.task_types.base import holds_several_labels

BACKFILL_BATCH = 5000
NO_LABEL = ""


def mark_first_labels(apps, schema_editor):
    class_model = apps.get_model("labeling", "ConsolidatedLabelClass")
    last = class_model.objects.aggregate(last=Max("pk"))["last"] or 0
    for start in range(0, last, BACKFILL_BATCH):
        earlier = class_model.objects.filter(
            consolidated_id=OuterRef("consolidated_id"), label__lt=OuterRef("label")
        )
        class_model.objects.filter(pk__gt=start, pk__lte=start + BACKFILL_BATCH).exclude(
            Exists(earlier)
        ).update(first=True)


def add_rows_of_values_without_labels(apps, schema_editor):
    job_model = apps.get_model("labeling", "Job")
    label_model = apps.get_model("labeling", "ConsolidatedLabel")
    class_model = apps.get_model("labeling", "ConsolidatedLabelClass")
    for job_id, task_type in job_model.objects.values_list("pk", "task_type").iterator():
        try:
            kind = get_task_type(task_type)
        except KeyError:  # a task type no longer registered: its labels have no rows (0026)
            continue
        if not holds_several_labels(kind):
            continue
        last = 0
        while True:
            batch = list(
                label_model.objects.filter(job_id=job_id, pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:BACKFILL_BATCH]
            )
            if not batch:
                break
            stored = class_model.objects.filter(consolidated_id=OuterRef("pk"))
            bare = (
                label_model.objects.filter(pk__in=batch)
                .exclude(Exists(stored))
                .values_list("pk", "item_id")
            )
            class_model.objects.bulk_create(
                class_model(
                    consolidated_id=pk, item_id=item_id, job_id=job_id, label=NO_LABEL, first=True
                )
                for pk, item_id in bare
            )
            last = batch[-1]


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0026_qa_labels_label_classes"),
    ]

    operations = [
        migrations.AddField(
            model_name="consolidatedlabelclass",
            name="first",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_first_labels, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="consolidatedlabelclass",
            index=models.Index(
                condition=models.Q(("first", True)),
                fields=["job", "label", "item"],
                name="consolidated_class_job_first",
            ),
        ),
        # After the index: PostgreSQL builds no index on a table with pending foreign-key checks
        # (the rows just inserted).
        migrations.RunPython(add_rows_of_values_without_labels, migrations.RunPython.noop),
    ]
