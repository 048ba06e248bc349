"""Pipelines' reads (issue 16): streaming jobs' settings, counts and results feed."""

from django.db.models import Count, Q

from labeling.models import StreamEvent, StreamItem, StreamSettings


def stream_of(*, job_id: int) -> StreamSettings | None:
    return StreamSettings.objects.filter(job_id=job_id).first()


def job_is_streaming(*, job_id: int) -> bool:
    return StreamSettings.objects.filter(job_id=job_id).exists()


def stream_counts(*, job_id: int) -> dict[str, int]:
    """Items posted (with a client key), expired, and feed rows and their deliveries."""
    items = StreamItem.objects.filter(job_id=job_id).aggregate(
        posted=Count("pk"), expired=Count("pk", filter=~Q(expired_at=None))
    )
    events = StreamEvent.objects.filter(job_id=job_id).aggregate(
        results=Count("pk", filter=~Q(kind="expired")),
        delivered=Count("pk", filter=Q(delivery_status="succeeded")),
        delivery_pending=Count("pk", filter=Q(delivery_status="pending")),
        delivery_failed=Count("pk", filter=Q(delivery_status="failed")),
    )
    return {
        "items_posted": items["posted"],
        "items_expired": items["expired"],
        "results": events["results"],
        "deliveries_succeeded": events["delivered"],
        "deliveries_pending": events["delivery_pending"],
        "deliveries_failed": events["delivery_failed"],
    }


def stream_expired_count(*, job_id: int) -> int:
    return StreamItem.objects.filter(job_id=job_id).exclude(expired_at=None).count()


def stream_results_after(*, job_id: int, after: int, limit: int) -> list[tuple[int, str]]:
    """(seq, body) of the feed's rows after the place ``after``, in order."""
    return list(
        StreamEvent.objects.filter(job_id=job_id, seq__gt=after)
        .order_by("seq")
        .values_list("seq", "body")[:limit]
    )


def stream_has_results_after(*, job_id: int, after: int) -> bool:
    return StreamEvent.objects.filter(job_id=job_id, seq__gt=after).exists()
