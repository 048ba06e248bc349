"""What the console does on the labeling app's events: thumbnails after an import."""

from typing import Any

from labeling.after_commit import run_safely
from labeling.console.tasks import item_thumbnails_make_task
from labeling.models import Job
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
