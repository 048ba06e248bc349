"""The custom-template API: templates and their versions, preview, a job's template, and
the signed media URLs that the ``grant_read_access`` filter makes."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import selectors
from labeling.converters import ObjectIdField
from labeling.errors import NotFound
from labeling.models import CustomTemplate, CustomTemplateVersion
from labeling.permissions import IsManager
from labeling.serializers import ErrorOut
from labeling.task_ui import selectors as task_ui_selectors
from labeling.task_ui.media import MediaGrantInvalid, media_grant_open, media_response
from labeling.task_ui.services.templates import (
    custom_template_create,
    custom_template_save,
    job_template_set,
    template_check,
)

ERRORS = {code: OpenApiResponse(ErrorOut) for code in (400, 401, 403, 404, 409)}


class TemplateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.CharField(trim_whitespace=False)
    sample = serializers.JSONField(required=False, default=dict)


class VersionIn(serializers.Serializer):
    source = serializers.CharField(trim_whitespace=False)
    sample = serializers.JSONField(required=False, default=dict)


class PreviewIn(VersionIn):
    pass


class PreviewOut(serializers.Serializer):
    html = serializers.CharField()


class JobTemplateIn(serializers.Serializer):
    template_id = ObjectIdField()
    version = ObjectIdField(required=False, help_text="latest when left out")


class VersionOut(serializers.ModelSerializer):
    class Meta:
        model = CustomTemplateVersion
        fields = ["number", "source", "sample", "created_at"]


class TemplateOut(serializers.ModelSerializer):
    class Meta:
        model = CustomTemplate
        fields = ["id", "name", "description", "latest_version", "created_at", "updated_at"]


def _template(template_id: int) -> CustomTemplate:
    template = task_ui_selectors.custom_template_get(template_id=template_id)
    if template is None:
        raise NotFound(f"there is no template {template_id}")
    return template


class TemplateListCreate(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: TemplateOut(many=True)}, summary="Custom task templates")
    def get(self, request: Request) -> Response:
        return Response(TemplateOut(task_ui_selectors.custom_template_list(), many=True).data)

    @extend_schema(
        request=TemplateIn,
        responses={201: TemplateOut, **ERRORS},
        summary="Create a custom task template (Liquid-flavoured HTML); version 1 is its text",
        description="A template that fails to parse or render on the sample is refused with "
        "code template_error and details {kind, line, column}.",
    )
    def post(self, request: Request) -> Response:
        data = TemplateIn(data=request.data)
        data.is_valid(raise_exception=True)
        template = custom_template_create(created_by=request.user, **data.validated_data)
        return Response(TemplateOut(template).data, status=status.HTTP_201_CREATED)


class TemplateDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **ERRORS}, summary="A template")
    def get(self, request: Request, template_id: int) -> Response:
        template = _template(template_id)
        latest = task_ui_selectors.custom_template_version(template_id=template.pk)
        return Response(
            {
                **TemplateOut(template).data,
                "latest": VersionOut(latest).data if latest else None,
                "versions": [
                    {"number": v.number, "created_at": v.created_at}
                    for v in task_ui_selectors.custom_template_versions(template_id=template.pk)
                ],
            }
        )


class TemplateVersions(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=VersionIn,
        responses={201: VersionOut, **ERRORS},
        summary="Save a new version of a template",
    )
    def post(self, request: Request, template_id: int) -> Response:
        template = _template(template_id)
        data = VersionIn(data=request.data)
        data.is_valid(raise_exception=True)
        version = custom_template_save(template=template, by=request.user, **data.validated_data)
        return Response(VersionOut(version).data, status=status.HTTP_201_CREATED)


class TemplateVersionDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: VersionOut, **ERRORS}, summary="One version of a template")
    def get(self, request: Request, template_id: int, number: int) -> Response:
        version = task_ui_selectors.custom_template_version(template_id=template_id, number=number)
        if version is None:
            raise NotFound(f"template {template_id} has no version {number}")
        return Response(VersionOut(version).data)


class TemplatePreview(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=PreviewIn,
        responses={200: PreviewOut, **ERRORS},
        summary="Render a template on a sample item (nothing is stored)",
        description="Errors: 400 with code template_error and details {kind, line, column}.",
    )
    def post(self, request: Request) -> Response:
        data = PreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        html = template_check(**data.validated_data)
        return Response({"html": html})


class JobTemplateSet(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=JobTemplateIn,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Render a draft job's tasks with a custom template version",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get_for_user(job_id=job_id, user=request.user)
        if job is None:
            raise NotFound(f"there is no job {job_id} that you can see")
        data = JobTemplateIn(data=request.data)
        data.is_valid(raise_exception=True)
        version = task_ui_selectors.custom_template_version(
            template_id=data.validated_data["template_id"],
            number=data.validated_data.get("version"),
        )
        if version is None:
            raise NotFound("there is no such template version")
        job_template_set(job=job, version=version, by=request.user)
        return Response(
            {"job_id": job.pk, "template_id": version.template_id, "version": version.number}
        )


# A media file is no page: it runs nothing, and only Quorum's own pages may frame it (a PDF
# item in an <iframe>).
MEDIA_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; "
    "object-src 'self'; frame-ancestors 'self'"
)


class SignedMedia(APIView):
    """The URL is the permission: its signature and expiry are checked, not a session."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={(200, "*/*"): OpenApiTypes.BINARY, **ERRORS},
        summary="Media behind a signed, expiring URL made by grant_read_access",
    )
    def get(self, request: Request, token: str):
        try:
            ref = media_grant_open(token)
        except MediaGrantInvalid as exc:
            raise NotFound(str(exc), code="media_link_invalid") from None
        response = media_response(ref, cache_seconds=300)
        if response.status_code == 200:
            # Quorum's own pages may show the file in a frame (a PDF item in an <iframe>).
            response["X-Frame-Options"] = "SAMEORIGIN"
            response["Content-Security-Policy"] = MEDIA_CONTENT_SECURITY_POLICY
        return response
