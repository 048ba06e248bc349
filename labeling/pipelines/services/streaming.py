"""Streaming jobs (issue 16 point 4): a job with no fixed end, fed item by item.

A streaming job is an ordinary job marked open-ended (it never completes because every item it
holds is labeled) with a ``StreamSettings`` row beside it. Items are posted at any time, each
with a client key so that a re-sent item is not added twice; each lives for the settings'
lifetime, after which an item still waiting for answers expires with its reason (the sweep).
Results leave through the feed and the webhook (``stream_events``, ``stream_deliveries``).
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from labeling.crypto import secret_encrypt
from labeling.data.services.imports import item_line_problem
from labeling.errors import Conflict, ValidationFailed
from labeling.models import Item, Job, StreamItem, StreamSettings, User
from labeling.outbound import OutboundRefused, outbound_check_url
from labeling.services.counters import job_counters_add
from labeling.services.item_events import item_event_record
from labeling.services.item_text import item_text_store
from labeling.states import ItemStatus, JobStatus

MAX_ITEMS_PER_REQUEST = 500
CLIENT_KEY_FIELD = "clientKey"
MAX_CLIENT_KEY_CHARS = 200
MIN_ITEM_LIFETIME_SECONDS = 10
MAX_ITEM_LIFETIME_SECONDS = 30 * 86400
DEFAULT_ITEM_LIFETIME_SECONDS = 24 * 3600
EXPIRY_BATCH_SIZE = 500
MAX_SECRET_CHARS = 200
# The kind of an item's history row that says it expired (its data holds the reason).
EXPIRED_EVENT = "expired"


def stream_settings_of(*, job_id: int) -> StreamSettings | None:
    return StreamSettings.objects.filter(job_id=job_id).first()


def _check_lifetime(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(
            "item_lifetime_seconds must be a whole number",
            details={"field": "item_lifetime_seconds"},
        )
    if not MIN_ITEM_LIFETIME_SECONDS <= value <= MAX_ITEM_LIFETIME_SECONDS:
        raise ValidationFailed(
            f"item_lifetime_seconds must be from {MIN_ITEM_LIFETIME_SECONDS} to "
            f"{MAX_ITEM_LIFETIME_SECONDS}, not {value}",
            details={"field": "item_lifetime_seconds"},
        )
    return value


def _check_webhook_url(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    try:
        outbound_check_url(url)  # the address is checked again at every send
    except OutboundRefused as exc:
        raise ValidationFailed(
            f"webhook_url is refused: {exc}", details={"field": "webhook_url"}
        ) from None
    if len(url) > StreamSettings._meta.get_field("webhook_url").max_length:
        raise ValidationFailed("webhook_url is too long", details={"field": "webhook_url"})
    return url


@transaction.atomic
def stream_configure(
    *,
    job: Job,
    by: User | None,
    item_lifetime_seconds: int | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    input_topic_arn: str | None = None,
    output_topic_arn: str | None = None,
) -> StreamSettings:
    """Make ``job`` a streaming job (only while it is a draft), or change its settings (at any
    time before it stops). A webhook needs a secret: every delivery is signed with it."""
    settings_row = StreamSettings.objects.select_for_update().filter(job_id=job.pk).first()
    if settings_row is None:
        if job.status != JobStatus.DRAFT:
            raise Conflict("only a draft job can become a streaming job", code="job_not_draft")
        settings_row = StreamSettings(job=job, item_lifetime_seconds=DEFAULT_ITEM_LIFETIME_SECONDS)
        # Open-ended: it never completes because every item it holds is labeled.
        Job.objects.filter(pk=job.pk).update(open_ended=True)
        job.open_ended = True
    elif job.status in (JobStatus.STOPPED, JobStatus.COMPLETED):
        raise Conflict("a stopped job's stream settings cannot change", code="job_closed")
    if item_lifetime_seconds is not None:
        settings_row.item_lifetime_seconds = _check_lifetime(item_lifetime_seconds)
    if webhook_url is not None:
        settings_row.webhook_url = _check_webhook_url(webhook_url)
    if webhook_secret is not None:
        if len(webhook_secret) > MAX_SECRET_CHARS:
            raise ValidationFailed(
                f"webhook_secret: at most {MAX_SECRET_CHARS} characters",
                details={"field": "webhook_secret"},
            )
        settings_row.webhook_secret = secret_encrypt(webhook_secret) if webhook_secret else ""
    if settings_row.webhook_url and not settings_row.webhook_secret:
        raise ValidationFailed(
            "a webhook needs a webhook_secret: every delivery is signed with it",
            details={"field": "webhook_secret"},
        )
    if input_topic_arn is not None:
        settings_row.input_topic_arn = input_topic_arn[:2048]
    if output_topic_arn is not None:
        settings_row.output_topic_arn = output_topic_arn[:2048]
    settings_row.save()
    return settings_row


@dataclass(frozen=True)
class StreamItemAdded:
    index: int
    item_id: int
    client_key: str
    created: bool


def _bad(index: int, message: str, field: str = "") -> ValidationFailed:
    details: dict[str, Any] = {"index": index}
    if field:
        details["field"] = field
    return ValidationFailed(f"items[{index}]: {message}", details=details)


def _checked_entries(job: Job, entries: Any) -> list[tuple[str, str]]:
    """(client key, line text) of each entry, or ValidationFailed naming the first bad one."""
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed("send one item (an object) or a non-empty list of items")
    if len(entries) > MAX_ITEMS_PER_REQUEST:
        raise ValidationFailed(
            f"at most {MAX_ITEMS_PER_REQUEST} items per request, not {len(entries)}",
            details={"field": "items"},
        )
    seen: dict[str, int] = {}
    checked = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _bad(index, f"an item must be a JSON object, not {type(entry).__name__}")
        line = dict(entry)
        key = line.pop(CLIENT_KEY_FIELD, None)
        if not isinstance(key, str) or not key.strip():
            raise _bad(
                index, f'"{CLIENT_KEY_FIELD}" (a non-empty string) is required', CLIENT_KEY_FIELD
            )
        if len(key) > MAX_CLIENT_KEY_CHARS:
            raise _bad(
                index, f"the client key is longer than {MAX_CLIENT_KEY_CHARS}", CLIENT_KEY_FIELD
            )
        if key in seen:
            raise _bad(
                index, f"the client key {key!r} is also items[{seen[key]}]", CLIENT_KEY_FIELD
            )
        seen[key] = index
        problem = item_line_problem(job=job, line=line)
        if problem:
            raise _bad(index, problem)
        checked.append((key, json.dumps(line, ensure_ascii=False, separators=(",", ":"))))
    return checked


def stream_items_add(*, job: Job, entries: list[dict[str, Any]]) -> list[StreamItemAdded]:
    """Add the items of one request, all or none: every entry is an input line with its client
    key under ``clientKey``. An entry whose key the job has already is not added again: its
    first item is answered (``created`` False)."""
    settings_row = stream_settings_of(job_id=job.pk)
    if settings_row is None:
        raise Conflict(
            "this job is not a streaming job: import items instead", code="not_streaming"
        )
    if job.status not in (JobStatus.DRAFT, JobStatus.IN_PROGRESS):
        raise Conflict(
            f"a {job.get_status_display().lower()} streaming job takes no more items",
            code="job_closed",
        )
    checked = _checked_entries(job, entries)
    try:
        return _store(job, settings_row, checked)
    except IntegrityError:
        # A request with the same key committed meanwhile: now its item is found.
        return _store(job, settings_row, checked)


@transaction.atomic
def _store(
    job: Job, settings_row: StreamSettings, checked: list[tuple[str, str]]
) -> list[StreamItemAdded]:
    keys = [key for key, _ in checked]
    known = dict(
        StreamItem.objects.filter(job_id=job.pk, client_key__in=keys).values_list(
            "client_key", "item_id"
        )
    )
    new = [(index, key, text) for index, (key, text) in enumerate(checked) if key not in known]
    created_ids: dict[str, int] = {}
    if new:
        items = Item.objects.bulk_create(
            [Item(job_id=job.pk, data=text, status=ItemStatus.OPEN) for _, _, text in new]
        )
        item_text_store(
            job_id=job.pk,
            first_item_id=min(item.pk for item in items),
            last_item_id=max(item.pk for item in items),
        )
        expires_at = timezone.now() + timedelta(seconds=settings_row.item_lifetime_seconds)
        StreamItem.objects.bulk_create(
            [
                StreamItem(item_id=item.pk, job_id=job.pk, client_key=key, expires_at=expires_at)
                for (_, key, _), item in zip(new, items, strict=True)
            ]
        )
        created_ids = {key: item.pk for (_, key, _), item in zip(new, items, strict=True)}
        # Last: the counter shard's row stays locked until the commit.
        job_counters_add(
            job_id=job.pk, shard_key=items[0].pk, items_labeled=0, answers=0, items_added=len(new)
        )
    return [
        StreamItemAdded(
            index=index,
            item_id=created_ids.get(key) or known[key],
            client_key=key,
            created=key in created_ids,
        )
        for index, (key, _) in enumerate(checked)
    ]


def _expiry_reason(lifetime: int, answers: int, needed: int) -> str:
    return f"not answered within its lifetime of {lifetime} s ({answers} of {needed} answers)"


def stream_item_expire(*, item_id: int, now: datetime | None = None) -> bool:
    """Expire one item whose lifetime has ended, if it still waits for answers and no worker
    holds it (a held one expires at a later sweep, once its lease ends). True if it expired."""
    now = now or timezone.now()
    with transaction.atomic():
        moved = Item.objects.filter(pk=item_id, status=ItemStatus.OPEN, taken=F("answers")).update(
            status=ItemStatus.EXPIRED
        )
        if moved != 1:
            return False
        job_id, answers, needed, lifetime = Item.objects.values_list(
            "job_id", "answers", "job__workers_per_item", "job__stream__item_lifetime_seconds"
        ).get(pk=item_id)
        reason = _expiry_reason(lifetime or 0, answers, needed)
        StreamItem.objects.filter(item_id=item_id, expired_at=None).update(
            expired_at=now, expiry_reason=reason
        )
        # The history row makes the feed's expired event (pipelines/receivers.py) in this
        # same transaction.
        item_event_record(
            job_id=job_id, item_id=item_id, kind=EXPIRED_EVENT, data={"reason": reason}, at=now
        )
    return True


def stream_items_expire(*, now: datetime | None = None) -> dict[str, int]:
    """The sweep: expire the items whose lifetime has ended. Items labeled before it ended
    leave the due list; items a worker holds stay in it for a later sweep."""
    now = now or timezone.now()
    due = StreamItem.objects.filter(expired_at=None, expires_at__lte=now)
    settled = StreamItem.objects.filter(
        pk__in=list(
            due.exclude(item__status=ItemStatus.OPEN).values_list("pk", flat=True)[
                :EXPIRY_BATCH_SIZE
            ]
        )
    ).update(expires_at=None)
    expired = 0
    candidates = due.filter(item__status=ItemStatus.OPEN, item__taken=F("item__answers"))
    for item_id in list(
        candidates.order_by("expires_at").values_list("item_id", flat=True)[:EXPIRY_BATCH_SIZE]
    ):
        expired += stream_item_expire(item_id=item_id, now=now)
    return {"expired": expired, "settled": settled}
