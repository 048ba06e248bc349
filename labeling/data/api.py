"""The data API: importing items (manifests, image and video files), an import's progress, and
exports in the augmented manifest, CSV and the task types' own formats, streamed."""

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_for
from labeling.data import selectors
from labeling.data.export_dispatch import export_body, export_format_choices
from labeling.data.serializers import ExportQuery, ImportOut
from labeling.data.services.imports import (
    import_stage_images,
    import_stage_manifest,
    import_stage_videos,
)
from labeling.errors import ValidationFailed
from labeling.models import ImportRun
from labeling.permissions import IsManager

UPLOAD_CHUNK_BYTES = 1 << 20


def _request_chunks(request: Request):
    stream = request._request  # the raw WSGI stream: a manifest can be larger than memory
    while chunk := stream.read(UPLOAD_CHUNK_BYTES):
        yield chunk


class JobItemsImport(APIView):
    permission_classes = [IsManager]
    parser_classes = [MultiPartParser]
    body_limit_setting = "QUORUM_IMPORT_MAX_BYTES"  # labeling/middleware.py

    @extend_schema(
        request={
            "application/x-ndjson": OpenApiTypes.STR,
            "application/json": {"type": "array", "items": {"type": "object"}},
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        responses={202: ImportOut, **ERRORS},
        summary="Import items: a JSON array, a JSON Lines body, or a manifest file",
        description=(
            'Each item is {"source": "text"} or {"source-ref": "path or URL"}; other keys are kept '
            "and come back in the export. Checked and stored by a Celery worker: poll the import. "
            "Any bad line fails the whole import, and every bad line is reported with its number."
        ),
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        content_type = request.content_type.split(";")[0].strip()
        if content_type == "multipart/form-data":
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationFailed('send the manifest as the form field "file"')
            run = import_stage_manifest(
                job=job, created_by=request.user, chunks=upload.chunks(), original_name=upload.name
            )
        elif content_type in (
            "application/json",
            "application/x-ndjson",
            "application/jsonl",
            "text/plain",
        ):
            run = import_stage_manifest(
                job=job, created_by=request.user, chunks=_request_chunks(request)
            )
        else:
            raise ValidationFailed(
                f"unsupported content type {content_type!r}: send application/json (an array), "
                "application/x-ndjson (JSON Lines) or multipart/form-data with a file",
                code="unsupported_media_type",
            )
        return Response(ImportOut(run).data, status=status.HTTP_202_ACCEPTED)


class JobImagesImport(APIView):
    permission_classes = [IsManager]
    parser_classes = [MultiPartParser]
    body_limit_setting = "QUORUM_IMPORT_MAX_BYTES"  # labeling/middleware.py

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            }
        },
        responses={202: ImportOut, **ERRORS},
        summary="Upload image files as items (checked with Pillow by a Celery worker)",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        run = import_stage_images(
            job=job, created_by=request.user, files=request.FILES.getlist("files")
        )
        return Response(ImportOut(run).data, status=status.HTTP_202_ACCEPTED)


class JobVideosImport(APIView):
    permission_classes = [IsManager]
    parser_classes = [MultiPartParser]
    body_limit_setting = "QUORUM_IMPORT_MAX_BYTES"  # labeling/middleware.py

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            }
        },
        responses={202: ImportOut, **ERRORS},
        summary="Upload video files as items (checked and cut into frames by a Celery worker)",
        description=(
            "One item per video (.mp4 .webm .mov .mkv .avi). A Celery worker checks that each "
            "decodes (at most 5,000 frames) and extracts its frames; a bad file fails the whole "
            "upload and is reported by its file name."
        ),
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        run = import_stage_videos(
            job=job, created_by=request.user, files=request.FILES.getlist("files")
        )
        return Response(ImportOut(run).data, status=status.HTTP_202_ACCEPTED)


class ImportDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: ImportOut, **ERRORS}, summary="An import's status, progress and bad lines"
    )
    def get(self, request: Request, import_id: int) -> Response:
        run = get_object_or_404(ImportRun, pk=import_id)
        progress = selectors.import_progress(run=run)
        return Response(ImportOut(run, context={"progress": progress}).data)


class JobExport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                enum=export_format_choices(),
                default="manifest",
                description="the task type's own formats: coco, voc, yolo, mot for image and "
                "video types; conll2003 and spacy for entity recognition",
            ),
            OpenApiParameter("labeled", enum=["all", "only"], default="all"),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/zip"): OpenApiTypes.BINARY,
            (200, "text/plain"): OpenApiTypes.STR,
        },
        summary="Export the augmented manifest (JSON Lines), CSV, or the task type's formats "
        "(COCO, VOC, YOLO, MOT, CoNLL 2003, spaCy), streamed",
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        job = _job_for(request, job_id)
        query = ExportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        labeled_only = query.validated_data["labeled"] == "only"
        export = export_body(job, fmt=query.validated_data["format"], labeled_only=labeled_only)
        body, content_type, suffix = export.chunks, export.content_type, export.suffix
        response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="{job.label_attribute_name}.{suffix}"'
        )
        return response
