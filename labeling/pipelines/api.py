"""The pipelines API under /api/v1/ (issue 16, docs/pipelines.md): thin views over the
services and selectors.

Chains (``/jobs/{id}/chain``, its merged export) and taxonomies (``/taxonomies``); streaming
jobs: their settings (``/jobs/{id}/stream``), items posted at any time (the POST of
``/jobs/{id}/items``, whose GET is the data manager's list), and the results feed
(``/jobs/{id}/results``, long-polled); hooks (``/hooks``) and a job's hooks
(``/jobs/{id}/hooks``). Managers only, but the signed payload documents that hooks fetch.
"""

import json
import time

from django.core import signing
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api import ERRORS, _job_for
from labeling.console.api import JobItems
from labeling.data.exports import chunked
from labeling.errors import NotFound, ValidationFailed
from labeling.models import Taxonomy, Team, User
from labeling.permissions import IsManager
from labeling.pipelines import selectors
from labeling.pipelines.serializers import (
    ChainGraphOut,
    ChainLinkIn,
    HookChangeIn,
    HookCreatedOut,
    HookIn,
    HookOut,
    JobHooksIn,
    JobHooksOut,
    StreamItemsOut,
    StreamResultsOut,
    StreamSettingsIn,
    StreamSettingsOut,
    TaxonomyIn,
    TaxonomyOut,
)
from labeling.pipelines.services.chains import chain_link_create
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
from labeling.pipelines.services.stream_events import cursor_decode, cursor_encode
from labeling.pipelines.services.streaming import (
    CLIENT_KEY_FIELD,
    MAX_ITEMS_PER_REQUEST,
    stream_configure,
    stream_items_add,
)
from labeling.pipelines.services.taxonomies import taxonomy_create

CLIENT_KEY_HEADER = "X-Client-Key"
MAX_WAIT_SECONDS = 25
POLL_EVERY_SECONDS = 0.2
RESULTS_PAGE = 100
MAX_RESULTS_PAGE = 1000


def _stream_body(job, stream) -> dict:
    counts = selectors.stream_counts(job_id=job.pk)
    return StreamSettingsOut(stream, context={"counts": counts}).data


class JobStream(APIView):
    """A job's streaming settings: PUT makes a draft job a streaming job or changes them."""

    permission_classes = [IsManager]

    @extend_schema(
        responses={200: StreamSettingsOut, **ERRORS}, summary="A streaming job's settings"
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        stream = selectors.stream_of(job_id=job.pk)
        if stream is None:
            raise NotFound(f"job {job_id} is not a streaming job")
        return Response(_stream_body(job, stream))

    @extend_schema(
        request=StreamSettingsIn,
        responses={200: StreamSettingsOut, **ERRORS},
        summary="Make a draft job a streaming job, or change its item lifetime and webhook",
    )
    def put(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        data = StreamSettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        stream = stream_configure(job=job, by=request.user, **data.validated_data)
        return Response(_stream_body(job, stream))


def _entries(request: Request) -> tuple[list, bool]:
    """The items of a POST and whether it sent one item (an object) rather than a list."""
    content_type = request.content_type.split(";")[0].strip()
    if content_type != "application/json":
        raise ValidationFailed(
            f"a streaming job takes items as application/json, not {content_type or 'none'!r}",
            code="unsupported_media_type",
        )
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the body is not valid JSON") from None
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return body["items"], False
    if isinstance(body, list):
        return body, False
    if isinstance(body, dict):
        header_key = request.headers.get(CLIENT_KEY_HEADER)
        if header_key and CLIENT_KEY_FIELD not in body:
            body = {**body, CLIENT_KEY_FIELD: header_key}
        return [body], True
    raise ValidationFailed("send one item (an object) or a list of items")


class StreamJobItems(JobItems):
    """GET: the data manager's list. POST: on a streaming job, add items now (client-keyed);
    on any other job, import a manifest (the import's own POST)."""

    @extend_schema(
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/x-ndjson": OpenApiTypes.STR,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        responses={
            201: StreamItemsOut,
            200: StreamItemsOut,
            202: OpenApiResponse(description="a non-streaming job: the import was queued"),
            **ERRORS,
        },
        parameters=[
            OpenApiParameter(
                CLIENT_KEY_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="the client key of a single item sent without clientKey",
            )
        ],
        summary="Add items: to a streaming job at once, by client key; to others, an import",
        description=(
            "On a streaming job: one item (an input line with its clientKey) or up to "
            f'{MAX_ITEMS_PER_REQUEST} (a list, or {{"items": [...]}}), all or none. An item '
            "whose client key the job has already is not added again: its id is answered "
            "(200 when no item of the request was new, 201 otherwise). On any other job the "
            "body is imported as a manifest (202, see the import)."
        ),
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        if not selectors.job_is_streaming(job_id=job.pk):
            return super().post(request, job_id)
        entries, single = _entries(request)
        added = stream_items_add(job=job, entries=entries)
        code = status.HTTP_201_CREATED if any(a.created for a in added) else status.HTTP_200_OK
        body = StreamItemsOut({"items": added}).data
        if single:
            return Response(body["items"][0], status=code)
        return Response(body, status=code)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a whole number", details={"field": name}) from None
    if not low <= value <= high:
        raise ValidationFailed(f"{name} must be from {low} to {high}", details={"field": name})
    return value


class JobResults(APIView):
    """A streaming job's results feed, read with a cursor and long-polled."""

    permission_classes = [IsManager]

    @extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="the cursor of the last event read"),
            OpenApiParameter(
                "wait", int, description=f"seconds to wait for an event (0 to {MAX_WAIT_SECONDS})"
            ),
            OpenApiParameter("limit", int, default=RESULTS_PAGE),
        ],
        responses={200: StreamResultsOut, **ERRORS},
        summary="A streaming job's results in order, after a cursor (long-poll with wait)",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        if not selectors.job_is_streaming(job_id=job.pk):
            raise NotFound(f"job {job_id} is not a streaming job")
        after_cursor = request.query_params.get("after", "")
        after = 0
        if after_cursor:
            decoded = cursor_decode(after_cursor)
            if decoded is None:
                raise ValidationFailed(
                    "after is not a cursor of this feed", details={"field": "after"}
                )
            after = decoded
        wait = _int_param(request, "wait", 0, 0, MAX_WAIT_SECONDS)
        limit = _int_param(request, "limit", RESULTS_PAGE, 1, MAX_RESULTS_PAGE)
        deadline = time.monotonic() + wait
        while not selectors.stream_has_results_after(job_id=job.pk, after=after):
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_EVERY_SECONDS)
        rows = selectors.stream_results_after(job_id=job.pk, after=after, limit=limit)
        cursor = cursor_encode(rows[-1][0]) if rows else (after_cursor or cursor_encode(0))
        return Response({"results": [json.loads(body) for _, body in rows], "cursor": cursor})


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


def _job_hooks_body(job_id: int, viewer: User) -> dict:
    hooks = job_hooks_of(job_id)
    return JobHooksOut(
        context={"viewer_id": viewer.pk},
        instance={
            "pre_hook": hooks.pre_hook if hooks else None,
            "consolidation_hook": hooks.consolidation_hook if hooks else None,
            "payload_inline": bool(hooks and hooks.payload_inline),
            "items": selectors.hook_item_counts(job_id=job_id),
            "recent_calls": selectors.hook_calls_recent(job_id=job_id),
            "failures": selectors.hook_failed_items(job_id=job_id),
        },
    ).data


class JobHooksDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={200: JobHooksOut, **ERRORS},
        summary="A job's hooks, its held and failed items, and the last calls",
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_hooks_body(_job_for(request, job_id).pk, request.user))

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
        return Response(_job_hooks_body(job.pk, request.user))


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


# -- chains (p16-chain) -----------------------------------------------------------------------
class JobChain(APIView):
    """A job's chain: link it to a parent (its input becomes the parent's output), or read the
    chain's graph with the counts on each edge."""

    permission_classes = [IsManager]

    @extend_schema(responses={200: ChainGraphOut, **ERRORS}, summary="The job's chain")
    def get(self, request: Request, job_id: int) -> Response:
        job = _job_for(request, job_id)
        return Response(ChainGraphOut(selectors.chain_graph(job=job)).data)

    @extend_schema(
        request=ChainLinkIn,
        responses={201: ChainGraphOut, **ERRORS},
        summary="Chain the job to a parent job (with a filter)",
    )
    def post(self, request: Request, job_id: int) -> Response:
        child = _job_for(request, job_id)
        data = ChainLinkIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        parent = _job_for(request, values["parent_id"])
        chain_link_create(
            parent=parent,
            child=child,
            by=request.user,
            labels=values.get("labels"),
            confidence_below=values.get("confidence_below"),
            machine_labeled_only=values.get("machine_labeled_only", False),
        )
        graph = selectors.chain_graph(job=child)
        return Response(ChainGraphOut(graph).data, status=status.HTTP_201_CREATED)


class JobChainExport(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, **ERRORS},
        summary="Export the chain as a whole: each first-job item with every job's attributes",
    )
    def get(self, request: Request, job_id: int) -> StreamingHttpResponse:
        root = selectors.chain_root(job=_job_for(request, job_id))
        response = StreamingHttpResponse(
            chunked(selectors.chain_export_lines(root=root)), content_type="application/x-ndjson"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{root.label_attribute_name}-chain.manifest"'
        )
        return response


class TaxonomyCreate(APIView):
    permission_classes = [IsManager]

    @extend_schema(
        request=TaxonomyIn,
        responses={201: TaxonomyOut, **ERRORS},
        summary="Define a taxonomy: Quorum builds its chain of jobs",
    )
    def post(self, request: Request) -> Response:
        data = TaxonomyIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        team = Team.objects.filter(pk=values.pop("team_id")).first()
        if team is None:
            raise NotFound("there is no such team")
        taxonomy = taxonomy_create(created_by=request.user, team=team, **values)
        return Response(TaxonomyOut(taxonomy).data, status=status.HTTP_201_CREATED)


class TaxonomyDetail(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses={200: TaxonomyOut, **ERRORS}, summary="A taxonomy")
    def get(self, request: Request, taxonomy_id: int) -> Response:
        taxonomy = Taxonomy.objects.filter(pk=taxonomy_id).first()
        if taxonomy is None:
            raise NotFound(f"there is no taxonomy {taxonomy_id}")
        return Response(TaxonomyOut(taxonomy).data)
