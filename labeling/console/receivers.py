"""What the console does on the labeling app's events: thumbnails after an import, and the
search text of imported items."""

from typing import Any

from django.db.models import Max, Min

from labeling.after_commit import run_safely
from labeling.console.tasks import item_thumbnails_make_task
from labeling.models import Item, Job
from labeling.services.item_text import item_text_store
from labeling.states import ImportStatus
from labeling.task_types import get_task_type

MEDIA_KINDS = ("image", "video")


def thumbnails_after_import(*, job_id: int, status: str, **_: Any) -> None:
    if status != ImportStatus.SUCCEEDED:
        return
    task_type = Job.objects.filter(pk=job_id).values_list("task_type", flat=True).first()
    if task_type is None or getattr(get_task_type(task_type), "media", "text") not in MEDIA_KINDS:
        return
    run_safely(
        lambda: item_thumbnails_make_task.delay(job_id),
        what=f"enqueuing the thumbnails of job {job_id}",
    )


def item_text_after_import(*, job_id: int, import_id: int, **_: Any) -> None:
    """Inside the import's transaction: its items' search text, written after the commit."""
    span = Item.objects.filter(import_run_id=import_id).aggregate(first=Min("id"), last=Max("id"))
    if span["first"] is not None:
        item_text_store(job_id=job_id, first_item_id=span["first"], last_item_id=span["last"])
