"""An item's history (issue 14): the append-only event rows the services write, and the review
stage an item enters when it is consolidated."""

import json
from datetime import datetime
from typing import Any, NamedTuple

from django.utils import timezone

from labeling.models import (
    ConsolidatedLabel,
    Item,
    ItemEvent,
    ItemEventKind,
    ReviewMode,
    ReviewStatus,
    User,
)

# A consolidated value kept in an event only up to this size (masks can be large).
EVENT_VALUE_MAX_CHARS = 20_000
_HASH_MULTIPLIER = 2654435761  # Knuth's multiplicative hash: a stable "random" per item


def item_event_record(
    *,
    job_id: int,
    item_id: int,
    kind: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ItemEvent:
    """Append one row to an item's history (inside the caller's transaction)."""
    return ItemEvent.objects.create(
        job_id=job_id,
        item_id=item_id,
        kind=kind,
        actor=actor,
        at=at or timezone.now(),
        data=data or {},
    )


def label_snapshot(consolidated: ConsolidatedLabel | None) -> dict[str, Any] | None:
    """What an event keeps of a consolidated label: its label, confidence, method and value
    (the value left out when it is large)."""
    if consolidated is None:
        return None
    snapshot = {
        "label": consolidated.label,
        "confidence": consolidated.confidence,
        "method": consolidated.method,
        "review_status": consolidated.review_status,
    }
    if len(json.dumps(consolidated.value)) <= EVENT_VALUE_MAX_CHARS:
        snapshot["value"] = consolidated.value
    return snapshot


def review_chosen(
    *, mode: str, share: float, below: float, item_id: int, confidence: float
) -> bool:
    """Whether a job's review stage takes an item just consolidated with ``confidence``;
    a random share is decided by the item's id, so it is the same on every run."""
    if mode == ReviewMode.ALL:
        return True
    if mode == ReviewMode.BELOW:
        return confidence < below
    if mode == ReviewMode.RANDOM:
        return ((item_id * _HASH_MULTIPLIER) % 2**32) / 2**32 < share
    return False


class ReviewSettings(NamedTuple):
    """What the review stage reads when an item is consolidated: the item's review marker and
    its job's review settings."""

    requested: bool
    mode: str
    share: float
    below: float


def consolidated_chosen_for_review(
    *, consolidated: ConsolidatedLabel, review: ReviewSettings
) -> bool:
    """Whether the job's review stage takes a label just consolidated."""
    return review.requested or review_chosen(
        mode=review.mode,
        share=review.share,
        below=review.below,
        item_id=consolidated.item_id,
        confidence=consolidated.confidence,
    )


def consolidated_event_data(consolidated: ConsolidatedLabel) -> dict[str, Any]:
    """What the item's history keeps of a consolidation."""
    return {"after": label_snapshot(consolidated), "answers": consolidated.answers_count}


def consolidated_enter_review(*, consolidated: ConsolidatedLabel) -> ConsolidatedLabel:
    """After a consolidation: record it in the item's history, and put the label in the job's
    review queue when the job's review stage takes it. (On PostgreSQL the submit's
    consolidation does the same in its own statements: services/consolidation.py.)"""
    requested, mode, share, below = Item.objects.values_list(
        "review_requested",
        "job__review_mode",
        "job__review_share",
        "job__review_below_confidence",
    ).get(pk=consolidated.item_id)
    review = ReviewSettings(requested, mode, share, below)
    if consolidated_chosen_for_review(consolidated=consolidated, review=review):
        ConsolidatedLabel.objects.filter(pk=consolidated.pk).update(
            review_status=ReviewStatus.PENDING
        )
        consolidated.review_status = ReviewStatus.PENDING
    item_event_record(
        job_id=consolidated.job_id,
        item_id=consolidated.item_id,
        kind=ItemEventKind.CONSOLIDATED,
        data=consolidated_event_data(consolidated),
    )
    return consolidated
