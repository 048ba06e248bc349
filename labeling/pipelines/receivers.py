"""Pipelines' receivers of the core's events and writes (issue 16)."""

from labeling.after_commit import on_commit_safely
from labeling.models import ItemEvent
from labeling.pipelines.services.stream_deliveries import stream_deliveries_enqueue
from labeling.pipelines.services.stream_events import stream_event_record, stream_events_sequence


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
