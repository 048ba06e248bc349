"""The pipelines API (managers only, but the signed payload documents that hooks fetch)."""

from django.core import signing
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_for
from labeling.errors import NotFound
from labeling.permissions import IsManager
from labeling.pipelines import selectors
from labeling.pipelines.serializers import (
    HookChangeIn,
    HookCreatedOut,
    HookIn,
    HookOut,
    JobHooksIn,
    JobHooksOut,
)
from labeling.pipelines.services.hook_runs import payload_document, payload_token_read
from labeling.pipelines.services.hooks import (
    hook_create,
    hook_delete,
    hook_get_for_user,
    hook_update,
    hooks_visible,
    job_hooks_of,
    job_hooks_set,
)

# --- Hooks -----------------------------------------------------------------------------------


class HookListCreate(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: HookOut(many=True), **ERRORS}, summary="List your hooks")
    def get(self, request: Request) -> Response:
        return Response(HookOut(hooks_visible(user=request.user), many=True).data)

    @extend_schema(
        request=HookIn,
        responses={201: HookCreatedOut, **ERRORS},
        summary="Register a pre- or post-annotation hook (an HTTP URL or an allowed callable)",
    )
    def post(self, request: Request) -> Response:
        data = HookIn(data=request.data)
        data.is_valid(raise_exception=True)
        created = hook_create(owner=request.user, **data.validated_data)
        body = HookOut(created.hook).data
        body["secret"] = created.secret
        return Response(body, status=status.HTTP_201_CREATED)


class HookDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: HookOut, **ERRORS}, summary="One of your hooks")
    def get(self, request: Request, hook_id: int) -> Response:
        return Response(HookOut(hook_get_for_user(hook_id=hook_id, user=request.user)).data)

    @extend_schema(
        request=HookChangeIn, responses={200: HookOut, **ERRORS}, summary="Change a hook"
    )
    def patch(self, request: Request, hook_id: int) -> Response:
        hook = hook_get_for_user(hook_id=hook_id, user=request.user)
        data = HookChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(HookOut(hook_update(hook=hook, **data.validated_data)).data)

    @extend_schema(responses={204: None, **ERRORS}, summary="Delete a hook no job names")
    def delete(self, request: Request, hook_id: int) -> Response:
        hook_delete(hook=hook_get_for_user(hook_id=hook_id, user=request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _job_hooks_body(job_id: int) -> dict:
    hooks = job_hooks_of(job_id)
    return JobHooksOut(
        {
            "pre_hook": hooks.pre_hook if hooks else None,
            "consolidation_hook": hooks.consolidation_hook if hooks else None,
            "payload_inline": bool(hooks and hooks.payload_inline),
            "items": selectors.hook_item_counts(job_id=job_id),
            "recent_calls": selectors.hook_calls_recent(job_id=job_id),
            "failures": selectors.hook_failed_items(job_id=job_id),
        }
    ).data


class JobHooksDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: JobHooksOut, **ERRORS},
        summary="A job's hooks, its held and failed items, and the last calls",
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_hooks_body(_job_for(request, job_id).pk))

    @extend_schema(
        request=JobHooksIn,
        responses={200: JobHooksOut, **ERRORS},
        summary="Name a job's pre-annotation and consolidation hooks",
    )
    def put(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = JobHooksIn(data=request.data)
        data.is_valid(raise_exception=True)
        job_hooks_set(
            job=job,
            by=request.user,
            pre_hook_id=data.validated_data["pre_hook"],
            consolidation_hook_id=data.validated_data["consolidation_hook"],
            payload_inline=data.validated_data["payload_inline"],
        )
        return Response(_job_hooks_body(job.pk))


class HookPayload(APIView):
    """The consolidation request's payload document at its signed, expiring URL: the hook
    fetches it without credentials, the signature is the credential."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="A consolidation payload document (signed URL, from the hook's event)",
    )
    def get(self, request: Request, token: str) -> Response:
        try:
            job_id, item_ids = payload_token_read(token)
        except signing.SignatureExpired:
            raise NotFound("this payload URL has expired") from None
        except signing.BadSignature:
            raise NotFound("there is no payload at this URL") from None
        return Response(payload_document(job_id=job_id, item_ids=item_ids))
