"""A streaming job's results feed: one row per result or expiry, in order per item.

A row is written in the transaction that labeled, relabeled or expired the item (the item's
history row of that change is its trigger: ``pipelines/receivers.py``), so a result is never
lost to a worker that dies after the commit. Rows get their place in the feed (``seq``) after
they commit, from the sequencer, which holds the job's stream row while it numbers them: rows
are numbered only once committed, so a reader's cursor never passes one that commits later.
The body (the event JSON, with the manifest line as the export writes it) is made then too.
"""

import base64
import json
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.data.exports import export_scope, manifest_lines
from labeling.job_probes import job_probe, register_job_probe
from labeling.models import (
    Item,
    ItemEvent,
    Job,
    StreamDeliveryStatus,
    StreamEvent,
    StreamEventKind,
    StreamItem,
    StreamSettings,
)

# The item history's kinds that make a feed event, and the event each makes.
FEED_KINDS = {
    "consolidated": StreamEventKind.CONSOLIDATED,
    "review_fixed": StreamEventKind.RELABELED,
    "edited": StreamEventKind.RELABELED,
    "expired": StreamEventKind.EXPIRED,
}
EVENT_NAMES = {
    StreamEventKind.CONSOLIDATED: "item.consolidated",
    StreamEventKind.RELABELED: "item.relabeled",
    StreamEventKind.EXPIRED: "item.expired",
}
SEQUENCE_BATCH_SIZE = 500
CURSOR_PREFIX = "q1:"


def cursor_encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int | None:
    """The seq a cursor stands for; None when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit():
        return None
    return int(text[len(CURSOR_PREFIX) :])


# Every consolidation of every job asks this (issue 20): a job probe, answered by the
# submit's first statement (labeling/job_probes.py).
STREAMING_PROBE = "pipelines.streaming"
register_job_probe(
    STREAMING_PROBE,
    f"EXISTS (SELECT 1 FROM {StreamSettings._meta.db_table} WHERE job_id = {{job}})",
)


def _is_streaming(job_id: int) -> bool:
    return job_probe(STREAMING_PROBE, job_id)


def stream_event_record(*, item_event: ItemEvent) -> StreamEvent | None:
    """The feed row of one item history row, inside the transaction that wrote it; None when
    the row's kind is not a result or the job is not a streaming job. Idempotent."""
    kind = FEED_KINDS.get(item_event.kind)
    if kind is None or not _is_streaming(item_event.job_id):
        return None
    event, _ = StreamEvent.objects.get_or_create(
        source_event_id=item_event.pk,
        defaults={
            "job_id": item_event.job_id,
            "item_id": item_event.item_id,
            "kind": kind,
            "created_at": item_event.at,
            "body": "",
        },
    )
    return event


def _manifest_line(job: Job, item_id: int) -> dict | None:
    with export_scope(Q(pk=item_id)):
        lines = list(manifest_lines(job, labeled_only=True))
    return json.loads(lines[0]) if lines else None


def _body(job: Job, event: StreamEvent, seq: int, client_key: str | None, reason: str) -> str:
    body = {
        "event": EVENT_NAMES[event.kind],
        "cursor": cursor_encode(seq),
        "jobId": job.pk,
        "jobName": job.name,
        "itemId": event.item_id,
        "clientKey": client_key,
        "at": event.created_at.isoformat(),
    }
    if event.kind == StreamEventKind.EXPIRED:
        body["expiryReason"] = reason
        data = Item.objects.filter(pk=event.item_id).values_list("data", flat=True).first()
        body["inputLine"] = json.loads(data) if data else None
    else:
        body["manifestLine"] = _manifest_line(job, event.item_id)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def stream_events_sequence(*, job_id: int) -> list[int]:
    """Number the job's committed rows that have no place yet, in the order they were written,
    and make their bodies; returns the ids of those that now wait for the webhook. The
    deliveries are the caller's to send (after this commits)."""
    now = timezone.now()
    with transaction.atomic():
        stream = StreamSettings.objects.select_for_update().filter(job_id=job_id).first()
        if stream is None:
            return []
        rows = list(
            StreamEvent.objects.filter(job_id=job_id, seq=None).order_by("id")[:SEQUENCE_BATCH_SIZE]
        )
        if not rows:
            return []
        job = Job.objects.get(pk=job_id)
        item_ids = {row.item_id for row in rows}
        keys = dict(
            StreamItem.objects.filter(item_id__in=item_ids).values_list("item_id", "client_key")
        )
        reasons = dict(
            StreamItem.objects.filter(item_id__in=item_ids)
            .exclude(expired_at=None)
            .values_list("item_id", "expiry_reason")
        )
        webhook = bool(stream.webhook_url)
        seq = stream.last_seq
        for row in rows:
            seq += 1
            fields = {
                "seq": seq,
                "sequenced_at": now,
                "body": _body(job, row, seq, keys.get(row.item_id), reasons.get(row.item_id, "")),
            }
            if webhook:
                fields.update(delivery_status=StreamDeliveryStatus.PENDING, next_attempt_at=now)
            StreamEvent.objects.filter(pk=row.pk, seq=None).update(**fields)
        StreamSettings.objects.filter(pk=stream.pk).update(last_seq=seq)
    return [row.pk for row in rows] if webhook else []


def stream_jobs_unsequenced(*, older_than_seconds: float, now=None) -> list[int]:
    """Jobs with rows committed this long ago and still unnumbered: the sequencer after their
    commit did not run (the process died, the broker was down). The sweep numbers them."""
    now = now or timezone.now()
    return list(
        StreamEvent.objects.filter(
            seq=None, created_at__lte=now - timedelta(seconds=older_than_seconds)
        )
        .values_list("job_id", flat=True)
        .distinct()[:100]
    )
