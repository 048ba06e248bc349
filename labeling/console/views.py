"""The console's data manager page: a job's items, filtered and sorted by the URL, with bulk
actions and live figures (its script talks to the console API)."""

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.console import live, selectors
from labeling.console.api import item_row_links
from labeling.console.services.bulk import DELETABLE_IN, MAX_PICKED_IDS, REOPENABLE_IN
from labeling.data.export_dispatch import export_formats_of
from labeling.errors import QuorumError
from labeling.models import BulkActionKind
from labeling.states import ItemStatus
from labeling.views import _manager_job, manager_page

COLUMNS = (
    ("id", "ID"),
    (None, "Preview"),
    ("status", "Status"),
    ("answers", "Answers"),
    ("label", "Label"),
    ("confidence", "Confidence"),
    ("source", "By"),
    ("gold", "Gold"),
    ("agreement", "Agreement"),
    ("reviewed", "Reviewed"),
    ("priority", "Priority"),
    ("last_activity", "Last activity"),
)


def _url(filters: dict[str, str], **extra: str) -> str:
    return "?" + urlencode({**filters, **{k: v for k, v in extra.items() if v}})


@require_GET
@manager_page
def data_manager(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _manager_job(request, job_id)
    error = None
    try:
        query = selectors.item_query_from_params(request.GET)
        page = selectors.items_page(job=job, query=query)
    except QuorumError as exc:
        error = exc.message
        query = selectors.ItemQuery()
        page = selectors.items_page(job=job, query=query)
    filters = query.filters
    kept = {**filters, **({"sort": query.sort} if query.sort != "id" else {})}
    headers = []
    for column, title in COLUMNS:
        if column is None:
            headers.append({"title": title})
            continue
        current = query.sort_column == column
        flipped = f"-{column}" if current and not query.descending else column
        headers.append(
            {
                "title": title,
                "column": column,
                "url": _url(filters, sort=flipped if flipped != "id" else ""),
                "direction": ("descending" if query.descending else "ascending") if current else "",
            }
        )
    kinds = [
        (kind, title)
        for kind, title in BulkActionKind.choices
        if (kind != BulkActionKind.DELETE or job.status in DELETABLE_IN)
        and (kind != BulkActionKind.MORE_ANSWERS or job.status in REOPENABLE_IN)
    ]
    context = {
        "job": job,
        "rows": item_row_links(page.rows, job.pk),
        "headers": headers,
        "filters": filters,
        "sort": query.sort,
        "next_url": _url(kept, cursor=page.next_cursor) if page.next_cursor else None,
        "first_url": _url(kept) if query.cursor else None,
        "on_first_page": not query.cursor,
        "filter_error": error,
        "statuses": ItemStatus.choices,
        "labels": job.labels,
        "bulk_kinds": kinds,
        "export_formats": export_formats_of(job),
        "max_picked": MAX_PICKED_IDS,
        "live": live.job_live_snapshot(job=job),
        "recent_actions": selectors.bulk_actions_recent(job=job, limit=5),
    }
    return render(request, "console/data_manager.html", context)
