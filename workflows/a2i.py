"""The managed review-loop runtime's five operations, served under /a2i/ for existing clients.

boto3's ``sagemaker-a2i-runtime`` client with ``endpoint_url=<quorum>/a2i`` works unchanged:
the paths, JSON shapes, status names and error codes are those of the botocore service
model (``botocore/data/sagemaker-a2i-runtime/2019-11-07/service-2.json``), and every request
must carry a valid SigV4 signature made with an access key pair that Quorum issued.
"""

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from labeling.data.selectors import storage_writes_pending
from labeling.errors import Conflict, InvalidTransition, NotFound, QuorumError
from workflows import selectors
from workflows.models import NAME_PATTERN, HumanLoop
from workflows.services.builtin_loops import builtin_loop_start, flow_builtin_source
from workflows.services.loops import (
    QuotaExceeded,
    flow_arn,
    human_loop_delete,
    human_loop_start,
    human_loop_stop,
    loop_arn,
    loop_output_uri,
)
from workflows.sigv4 import SignatureProblem, SignedRequest, verify
from workflows.states import HumanLoopStatus

logger = logging.getLogger(__name__)
SIGNING_SERVICE = "sagemaker"  # the model's metadata.signingName
OUTPUT_SALT = "workflows.a2i.output"
_FLOW_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:flow-definition/(.+)$")
_NAME = re.compile(NAME_PATTERN)
_STATUS_OF_ERROR = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 402,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ThrottlingException": 429,
    "InternalServerException": 500,
}
_AUTH_STATUS = {"MissingAuthenticationTokenException": 403, "IncompleteSignatureException": 400}


class A2IError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _error(code: str, message: str, status: int | None = None) -> JsonResponse:
    status = status or _STATUS_OF_ERROR.get(code) or _AUTH_STATUS.get(code, 403)
    response = JsonResponse({"message": message, "Message": message}, status=status)
    response["x-amzn-ErrorType"] = code
    return response


def _from_quorum_error(exc: QuorumError) -> A2IError:
    if isinstance(exc, QuotaExceeded):
        return A2IError("ServiceQuotaExceededException", exc.message)
    if isinstance(exc, NotFound):
        return A2IError("ResourceNotFoundException", exc.message)
    if isinstance(exc, InvalidTransition):
        return A2IError("ValidationException", exc.message)
    if isinstance(exc, Conflict) and exc.code == "duplicate_name":
        return A2IError("ConflictException", exc.message)
    return A2IError("ValidationException", exc.message)


def _raw_path(request: HttpRequest) -> str:
    return request.META.get("RAW_URI", "").split("?")[0] or quote(
        request.path, safe="/-_.~!$&'()*+,;=:@"
    )


def _secret_for(access_key_id: str) -> str | None:
    return selectors.signing_secret(access_key_id=access_key_id)


def _throttle(access_key_id: str) -> None:
    limit = settings.QUORUM_A2I_MAX_REQUESTS_PER_SECOND
    if not limit:
        return
    window = f"a2i-rate:{access_key_id}:{int(time.time())}"
    cache.add(window, 0, timeout=2)
    if cache.incr(window) > limit:
        raise A2IError("ThrottlingException", f"more than {limit} requests per second")


def signed(view: Callable[..., dict[str, Any] | None]) -> Callable[..., HttpResponse]:
    """Verify the signature, run ``view``, answer in the runtime's JSON and error shapes."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        candidate = SignedRequest(
            method=request.method,
            path=_raw_path(request),
            query_string=request.META.get("QUERY_STRING", ""),
            headers=request.headers,
            body=request.body,
        )
        try:
            key_id = verify(
                candidate,
                secret_for=_secret_for,
                service=SIGNING_SERVICE,
                max_skew=timedelta(seconds=settings.QUORUM_A2I_SIGNATURE_MAX_SKEW_SECONDS),
            )
            _throttle(key_id)
            body = view(request, *args, **kwargs)
        except SignatureProblem as exc:
            return _error(exc.code, exc.message)
        except A2IError as exc:
            return _error(exc.code, exc.message)
        except QuorumError as exc:
            converted = _from_quorum_error(exc)
            return _error(converted.code, converted.message)
        except Exception:
            logger.exception("runtime API request failed: %s %s", request.method, request.path)
            return _error("InternalServerException", "The server failed; the error was logged.")
        return JsonResponse(body or {}, status=200)

    return wrapper


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise A2IError("ValidationException", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise A2IError("ValidationException", "the request body must be a JSON object")
    return body


def _loop_name(value: Any, field: str = "HumanLoopName") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 63 or not _NAME.match(value):
        raise A2IError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN}",
        )
    return value


def _flow_name(arn: Any) -> str:
    match = _FLOW_ARN.match(arn) if isinstance(arn, str) and len(arn) <= 1024 else None
    if match is None:
        raise A2IError(
            "ValidationException", f"FlowDefinitionArn {arn!r} is not a flow definition ARN"
        )
    return match[1]


def _flow_from_arn(arn: Any):
    flow = selectors.flow_get_by_name(name=_flow_name(arn))
    if flow is None:
        raise A2IError("ResourceNotFoundException", f"Flow definition {arn} does not exist")
    return flow


def _content_classifiers(body: dict[str, Any]) -> list[str]:
    attributes = body.get("DataAttributes")
    if attributes is None:
        return []
    classifiers = attributes.get("ContentClassifiers") if isinstance(attributes, dict) else None
    if not isinstance(classifiers, list):
        raise A2IError(
            "ValidationException", "DataAttributes.ContentClassifiers must be a list of names"
        )
    return classifiers


def _loop(name: str) -> HumanLoop:
    loop = selectors.loop_get(name=_loop_name(name))
    if loop is None:
        raise A2IError("ResourceNotFoundException", f"Human loop {name} does not exist")
    return loop


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def output_url(request: HttpRequest, loop: HumanLoop) -> str:
    token = signing.dumps({"loop": loop.pk}, salt=OUTPUT_SALT, compress=True)
    return request.build_absolute_uri(reverse("a2i-output", args=[token]))


def start_human_loop(request: HttpRequest) -> dict[str, Any]:
    body = _json_body(request)
    name = _loop_name(body.get("HumanLoopName"))
    arn = body.get("FlowDefinitionArn")
    found = selectors.flow_for_start(name=_flow_name(arn))
    if found is None:
        raise A2IError("ResourceNotFoundException", f"Flow definition {arn} does not exist")
    loop_input = body.get("HumanLoopInput")
    if not isinstance(loop_input, dict) or not isinstance(loop_input.get("InputContent"), str):
        raise A2IError("ValidationException", "HumanLoopInput.InputContent is required")
    try:
        if flow_builtin_source(found.flow):
            # A built-in review: its conditions read the AI service's answer in the input.
            found.flow.refresh_from_db(fields=["conditions", "sample_percent"])
            started = builtin_loop_start(
                flow=found.flow,
                name=name,
                input_content=loop_input["InputContent"],
                content_classifiers=_content_classifiers(body),
                open_now=found.open_loops,
            )
            if started.loop is None:
                return {}  # no condition activated a loop: the response has no HumanLoopArn
            loop = started.loop
        else:
            loop = human_loop_start(
                flow=found.flow,
                name=name,
                input_content=loop_input["InputContent"],
                content_classifiers=_content_classifiers(body),
                open_now=found.open_loops,
            )
    except Conflict as exc:
        if exc.code == "duplicate_name":
            raise A2IError("ConflictException", f"Human loop {name} already exists") from None
        raise
    return {"HumanLoopArn": loop_arn(loop)}


def _unwritten_outputs(loops: list[HumanLoop]) -> set[int]:
    """The ids of completed loops whose output.json is not in the store yet: they are shown
    InProgress until it is, as labeling jobs are, so a script that sees Completed reads it."""
    uris = {
        loop.pk: loop_output_uri(loop) for loop in loops if loop.status == HumanLoopStatus.COMPLETED
    }
    pending = storage_writes_pending(uris=[uri for uri in uris.values() if uri])
    return {pk for pk, uri in uris.items() if uri and uri in pending}


def describe_human_loop(request: HttpRequest, name: str) -> dict[str, Any]:
    loop = _loop(name)
    unwritten = bool(_unwritten_outputs([loop]))
    body: dict[str, Any] = {
        "CreationTime": _timestamp(loop.created_at),
        "HumanLoopStatus": HumanLoopStatus.IN_PROGRESS if unwritten else loop.status,
        "HumanLoopName": loop.name,
        "HumanLoopArn": loop_arn(loop),
        "FlowDefinitionArn": flow_arn(loop.flow),
    }
    if loop.failure_reason:
        body["FailureReason"] = loop.failure_reason
        body["FailureCode"] = loop.failure_code
    if loop.output is not None and not unwritten:
        # A flow with an s3:// S3OutputPath: the object in the store; else the signed link.
        uri = loop_output_uri(loop) or output_url(request, loop)
        body["HumanLoopOutput"] = {"OutputS3Uri": uri}
    return body


def _query_time(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise A2IError("ValidationException", f"{field} is not an ISO 8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_human_loops(request: HttpRequest) -> dict[str, Any]:
    query = request.GET
    flow = _flow_from_arn(query.get("FlowDefinitionArn"))
    order = query.get("SortOrder", "Descending")
    if order not in ("Ascending", "Descending"):
        raise A2IError("ValidationException", "SortOrder must be Ascending or Descending")
    try:
        limit = int(query.get("MaxResults", selectors.MAX_PAGE_SIZE))
    except ValueError:
        raise A2IError("ValidationException", "MaxResults must be a number") from None
    if not 1 <= limit <= selectors.MAX_PAGE_SIZE:
        raise A2IError("ValidationException", "MaxResults must be from 1 to 100")
    try:
        loops, token = selectors.loops_page(
            flow=flow,
            created_after=_query_time(query.get("CreationTimeAfter"), "CreationTimeAfter"),
            created_before=_query_time(query.get("CreationTimeBefore"), "CreationTimeBefore"),
            ascending=order == "Ascending",
            cursor=query.get("NextToken") or None,
            limit=limit,
        )
    except selectors.BadCursor as exc:
        raise A2IError("ValidationException", str(exc)) from None
    arn = flow_arn(flow)
    unwritten = _unwritten_outputs(loops)
    summaries = []
    for loop in loops:
        summary = {
            "HumanLoopName": loop.name,
            "HumanLoopStatus": HumanLoopStatus.IN_PROGRESS if loop.pk in unwritten else loop.status,
            "CreationTime": _timestamp(loop.created_at),
            "FlowDefinitionArn": arn,
        }
        if loop.failure_reason:
            summary["FailureReason"] = loop.failure_reason
        summaries.append(summary)
    body: dict[str, Any] = {"HumanLoopSummaries": summaries}
    if token:
        body["NextToken"] = token
    return body


def stop_human_loop(request: HttpRequest) -> dict[str, Any]:
    loop = _loop(_json_body(request).get("HumanLoopName"))
    human_loop_stop(loop=loop)
    return {}


def delete_human_loop(request: HttpRequest, name: str) -> dict[str, Any]:
    human_loop_delete(loop=_loop(name))
    return {}


@signed
def human_loops(request: HttpRequest) -> dict[str, Any]:
    if request.method == "POST":
        return start_human_loop(request)
    if request.method == "GET":
        return list_human_loops(request)
    raise A2IError("ValidationException", f"{request.method} is not an operation here")


@signed
def human_loop(request: HttpRequest, name: str) -> dict[str, Any]:
    if request.method == "GET":
        return describe_human_loop(request, name)
    if request.method == "DELETE":
        return delete_human_loop(request, name)
    if request.method == "POST" and name == "stop":
        return stop_human_loop(request)
    raise A2IError("ValidationException", f"{request.method} is not an operation here")


def human_loop_output(request: HttpRequest, token: str) -> HttpResponse:
    """The output document behind ``HumanLoopOutput.OutputS3Uri``: signed, expiring."""
    try:
        payload = signing.loads(
            token, salt=OUTPUT_SALT, max_age=settings.QUORUM_OUTPUT_URL_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        return _error("AccessDenied", "this output link has expired", status=403)
    except signing.BadSignature:
        return _error("AccessDenied", "this output link is not valid", status=403)
    loop = HumanLoop.objects.filter(pk=payload.get("loop")).only("output").first()
    if loop is None or loop.output is None:
        return _error("NoSuchKey", "the loop or its output is gone", status=404)
    response = JsonResponse(loop.output)
    response["Cache-Control"] = "private, no-store"
    return response
