"""Mark each consolidated value's first label (code-point order) among its stored labels: the
data manager sorts multi-label, drawing, span and video jobs by it, walking a partial index of
the marked rows. Existing rows are marked in batches by id, before the index is built."""

from django.db import migrations, models
from django.db.models import Exists, Max, OuterRef

BACKFILL_BATCH = 5000


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
    ]
