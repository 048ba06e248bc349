"""manage.py item_agreement_backfill [--job N] [--batch B]: store the agreement of drawing and
span jobs' labels consolidated before it was stored (the data manager reads their confidence
until then)."""

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Job
from labeling.quality.services.item_agreement import BACKFILL_BATCH, item_agreement_backfill


class Command(BaseCommand):
    help = (
        "Store ConsolidatedLabel.agreement (the mean pairwise similarity of the item's answers) "
        "on drawing and span jobs' labels that have none, in batches; other jobs are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--job", type=int, default=None, help="only this job's labels")
        parser.add_argument(
            "--batch", type=int, default=BACKFILL_BATCH, help="labels read and written at once"
        )

    def handle(self, *args, job: int | None, batch: int, **kw):
        if job is not None and not Job.objects.filter(pk=job).exists():
            raise CommandError(f"there is no job {job}")
        if batch < 1:
            raise CommandError("--batch is at least 1")

        def report(done_job, written):
            self.stdout.write(f"job {done_job.pk}: {written} labels")

        total = item_agreement_backfill(job_id=job, batch=batch, report=report)
        self.stdout.write(f"{total} labels given their agreement")
