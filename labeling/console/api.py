"""The console API (managers only): the data manager's items, bulk actions, live snapshots."""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors as core_selectors
from labeling.api import ERRORS, _job_for
from labeling.console import live, selectors
from labeling.console.serializers import (
    BulkActionIn,
    BulkActionOut,
    ItemCountOut,
    ItemPageOut,
    LiveSnapshotOut,
)
from labeling.console.services.bulk import bulk_action_start
from labeling.console.services.thumbnails import NO_THUMBNAIL
from labeling.data.api import JobItemsImport
from labeling.errors import NotFound
from labeling.permissions import IsManager

FILTER_PARAMETERS = [
    OpenApiParameter("status", enum=["open", "labeled"]),
    OpenApiParameter("answers", int, description="exactly this many answers"),
    OpenApiParameter("answers_min", int),
    OpenApiParameter("answers_max", int),
    OpenApiParameter("priority", int),
    OpenApiParameter("priority_min", int),
    OpenApiParameter("label", str, description="the consolidated label"),
    OpenApiParameter("confidence_min", float),
    OpenApiParameter("confidence_max", float),
    OpenApiParameter("source", enum=["human", "machine", "none"]),
    OpenApiParameter("gold", enum=["yes", "no"]),
    OpenApiParameter("agreement_min", float),
    OpenApiParameter("agreement_max", float),
    OpenApiParameter("reviewed", enum=["yes", "no"]),
    OpenApiParameter("review_requested", enum=["yes", "no"]),
    OpenApiParameter("active_after", OpenApiTypes.DATETIME, description="answered since"),
    OpenApiParameter("active_before", OpenApiTypes.DATETIME, description="no answer since"),
    OpenApiParameter("worker", str, description="answered by this worker (username or id)"),
    OpenApiParameter("disagreement", enum=["yes", "no"]),
    OpenApiParameter("q", str, description="text anywhere in the item's JSON line"),
]


def item_row_links(rows: list[dict], job_id: int) -> list[dict]:
    for row in rows:
        row["url"] = f"/console/jobs/{job_id}/items/{row['id']}"
        row["thumbnail_url"] = (
            f"/api/v1/items/{row['id']}/thumbnail" if row.pop("thumbnail") else None
        )
    return rows


class JobItems(JobItemsImport):
    """GET lists a job's items (the data manager); POST imports items (see the import)."""

    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "sort",
                enum=[*selectors.SORTABLE, *(f"-{name}" for name in selectors.SORTABLE)],
                default="id",
                description=(
                    "a column, '-' first for descending; ties by id. On multi-label, drawing, "
                    "span and video jobs, label sorts by the first label (code-point order) "
                    "of those the item's value contains, as the label filter reads them"
                ),
            ),
            OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
            OpenApiParameter("limit", int, default=selectors.PAGE_SIZE),
        ],
        responses={200: ItemPageOut, **ERRORS},
        summary="List a job's items: filter, sort, page by cursor (the data manager)",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        query = selectors.item_query_from_params(request.query_params)
        page = selectors.items_page(job=job, query=query)
        body = {
            "results": item_row_links(page.rows, job.pk),
            "next_cursor": page.next_cursor,
            "sort": page.sort,
        }
        return Response(ItemPageOut(body).data)


class JobItemsCount(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: ItemCountOut, **ERRORS},
        summary="How many of a job's items match the filters",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        query = selectors.item_query_from_params(request.query_params)
        return Response({"count": selectors.items_count(job=job, filters=query.filters)})


class JobBulkActions(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: BulkActionOut(many=True), **ERRORS},
        summary="A job's recent bulk actions",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(BulkActionOut(selectors.bulk_actions_recent(job=job), many=True).data)

    @extend_schema(
        request=BulkActionIn,
        responses={202: BulkActionOut, **ERRORS},
        summary="Start a bulk action over selected items (run by a Celery worker: poll it)",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = BulkActionIn(data=request.data)
        data.is_valid(raise_exception=True)
        action = bulk_action_start(
            job=job,
            by=request.user,
            kind=data.validated_data["kind"],
            selection=data.validated_data["selection"],
            params=data.validated_data["params"],
        )
        action.refresh_from_db()  # an eager run (tests) has finished it already
        return Response(BulkActionOut(action).data, status=status.HTTP_202_ACCEPTED)


class JobBulkAction(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: BulkActionOut, **ERRORS}, summary="A bulk action's progress")
    def get(self, request: Request, job_id: int, action_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(BulkActionOut(selectors.bulk_action_get(job=job, action_id=action_id)).data)


class JobBulkActionDownload(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS},
        summary="The file of a finished bulk export",
    )
    def get(self, request: Request, job_id: int, action_id: int):
        job = _job_for(request, job_id)
        action = selectors.bulk_action_get(job=job, action_id=action_id)
        root = Path(settings.MEDIA_ROOT).resolve()
        path = (root / action.result_path).resolve() if action.result_path else None
        if path is None or root not in path.parents or not path.is_file():
            raise NotFound("this bulk action has no file (yet)")
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


class JobLive(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: LiveSnapshotOut, **ERRORS},
        summary="A job's live figures: one snapshot shared by every viewer, a few seconds old",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        response = Response(LiveSnapshotOut(live.job_live_snapshot(job=job)).data)
        response["Cache-Control"] = "no-store"
        return response


class ItemThumbnail(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, **ERRORS},
        summary="An item's preview thumbnail (made once by a Celery worker after the import)",
    )
    def get(self, request: Request, item_id: int):
        item = core_selectors.item_visible_to(item_id=item_id, user=request.user)
        if item is None or item.thumbnail in ("", NO_THUMBNAIL):
            raise NotFound("this item has no thumbnail")
        root = Path(settings.MEDIA_ROOT).resolve()
        path = (root / item.thumbnail).resolve()
        if root not in path.parents or not path.is_file():
            raise NotFound("this item's thumbnail is missing")
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response
