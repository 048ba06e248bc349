"""Pipelines' receivers of the core's events and writes (issue 16), connected in
``LabelingConfig.ready``: streaming jobs' results feed, and the annotation hooks."""

from labeling.after_commit import on_commit_safely, run_safely
from labeling.models import ItemEvent, JobHooks
from labeling.pipelines.services.hook_queue import hook_consolidation_enqueue, hooks_enqueue_held
from labeling.pipelines.services.stream_deliveries import stream_deliveries_enqueue
from labeling.pipelines.services.stream_events import stream_event_record, stream_events_sequence
from labeling.services.item_holds import items_hold_imported
from labeling.states import ImportStatus


def stream_result_on_item_event(sender, *, instance: ItemEvent, created: bool, **kwargs) -> None:
    """Streaming jobs: an item's history row of a result (consolidated, relabeled, expired)
    writes the feed's row in the same transaction; once that commits, the row is numbered and
    its webhook sent. Connected to ItemEvent's ``post_save`` (labeling/apps.py): the feed row
    must be written inside the labeling's transaction, which the after-commit events are not."""
    if not created:
        return
    event = stream_event_record(item_event=instance)
    if event is None:
        return
    job_id = event.job_id
    on_commit_safely(
        lambda: stream_deliveries_enqueue(stream_events_sequence(job_id=job_id)),
        what=f"numbering the results feed of job {job_id}",
    )


# --- Hooks -----------------------------------------------------------------------------------


def job_has_pre_hook(job_id: int) -> bool:
    return JobHooks.objects.filter(job_id=job_id, pre_hook__isnull=False).exists()


def job_has_consolidation_hook(job_id: int) -> bool:
    """The consolidation takeover (labeling/services/consolidation.py): such a job's items are
    consolidated by its hook."""
    return JobHooks.objects.filter(job_id=job_id, consolidation_hook__isnull=False).exists()


def hooks_hold_imported(*, job_id: int, import_id: int, **_: object) -> None:
    """Inside the import's transaction: a job with a pre-annotation hook holds its new items
    until the hook answers for each."""
    if job_has_pre_hook(job_id):
        items_hold_imported(job_id=job_id, import_id=import_id)


def hooks_after_import(*, job_id: int, import_id: int, status: str, **_: object) -> None:
    if status == ImportStatus.SUCCEEDED and job_has_pre_hook(job_id):
        run_safely(
            lambda: hooks_enqueue_held(job_id=job_id),
            what=f"queueing the pre-annotation of job {job_id}",
        )


def hooks_after_answers_complete(*, job_id: int, item_id: int, **_: object) -> None:
    run_safely(
        lambda: hook_consolidation_enqueue(job_id=job_id, item_id=item_id),
        what=f"queueing the consolidation hook of item {item_id}",
    )
