"""The control-plane endpoint at /sagemaker: JSON 1.1 with ``X-Amz-Target: SageMaker.<Op>``.

boto3's ``sagemaker`` client with ``endpoint_url=<quorum>/sagemaker`` (or
``AWS_ENDPOINT_URL_SAGEMAKER``) works unchanged. Every request is SigV4-signed with an access
key Quorum issued (signing name ``sagemaker``, as for the runtime at /a2i), its body is checked
against the operation's input shape in botocore's model, and errors come back as
``{"__type": code, "message": …}`` with the model's codes.
"""

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from control_plane.operations import (
    flow_definitions,
    human_task_uis,
    labeling_jobs,
    workforces,
)
from control_plane.operations.common import Call, OperationError
from control_plane.selectors import BadToken
from control_plane.service_model import (
    RequestInvalid,
    epoch,
    operation_exists,
    validate_request,
)
from labeling.errors import Conflict, NotFound, QuorumError
from workflows import selectors as workflow_selectors
from workflows.sigv4 import SignatureProblem, SignedRequest, verify

logger = logging.getLogger(__name__)

SIGNING_SERVICE = "sagemaker"
TARGET_PREFIX = "SageMaker."
CONTENT_TYPE = "application/x-amz-json-1.1"
OPERATIONS: dict[str, Callable[[Call], dict[str, Any]]] = {
    **labeling_jobs.OPERATIONS,
    **workforces.OPERATIONS,
    **human_task_uis.OPERATIONS,
    **flow_definitions.OPERATIONS,
}
_AUTH_STATUS = {"IncompleteSignatureException": 400, "MissingAuthenticationTokenException": 403}


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return epoch(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _answer(body: dict[str, Any], status: int = 200) -> HttpResponse:
    text = json.dumps(body, default=_default, separators=(",", ":"))
    return HttpResponse(text, status=status, content_type=CONTENT_TYPE)


def _error(code: str, message: str, status: int = 400) -> HttpResponse:
    response = _answer({"__type": code, "message": message, "Message": message}, status)
    response["x-amzn-ErrorType"] = code
    return response


def _from_quorum_error(exc: QuorumError) -> tuple[str, str]:
    if isinstance(exc, NotFound):
        return "ResourceNotFound", exc.message
    if isinstance(exc, Conflict) and exc.code in ("duplicate_name", "in_use"):
        return "ResourceInUse", exc.message
    if isinstance(exc, Conflict):
        return "ConflictException", exc.message
    field = exc.details.get("field")
    message = exc.message
    if field and not message.startswith(field):
        message = f"{field}: {message}"
    return "ValidationException", message


def _raw_path(request: HttpRequest) -> str:
    return request.META.get("RAW_URI", "").split("?")[0] or quote(
        request.path, safe="/-_.~!$&'()*+,;=:@"
    )


def _signer(request: HttpRequest) -> str:
    """The access key id of a correctly signed request; SignatureProblem otherwise."""
    return verify(
        SignedRequest(
            method=request.method,
            path=_raw_path(request),
            query_string=request.META.get("QUERY_STRING", ""),
            headers=request.headers,
            body=request.body,
        ),
        secret_for=lambda key: workflow_selectors.signing_secret(access_key_id=key),
        service=SIGNING_SERVICE,
        max_skew=timedelta(seconds=settings.QUORUM_A2I_SIGNATURE_MAX_SKEW_SECONDS),
    )


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise OperationError("SerializationException", "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise OperationError("SerializationException", "the request body must be a JSON object")
    return body


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error("UnknownOperationException", "the control plane takes POST / only", 404)
    try:
        key_id = _signer(request)
    except SignatureProblem as exc:
        return _error(exc.code, exc.message, _AUTH_STATUS.get(exc.code, 403))
    target = request.headers.get("X-Amz-Target", "")
    operation = target.removeprefix(TARGET_PREFIX)
    if not target.startswith(TARGET_PREFIX) or not operation_exists(operation):
        return _error("UnknownOperationException", f"unknown operation {target!r}")
    handler = OPERATIONS.get(operation)
    if handler is None:
        return _error(
            "ValidationException",
            f"{operation} is not served by Quorum; see docs/migrating.md for the operations "
            "it serves",
        )
    try:
        body = _body(request)
        validate_request(operation, body)
        return _answer(handler(Call(request=request, access_key_id=key_id, body=body)))
    except RequestInvalid as exc:
        return _error("ValidationException", exc.message)
    except OperationError as exc:
        return _error(exc.code, exc.message)
    except BadToken as exc:
        return _error("ValidationException", f"NextToken: {exc}")
    except QuorumError as exc:
        return _error(*_from_quorum_error(exc))
    except Exception:
        logger.exception("control-plane request failed: %s", operation)
        return _error("InternalFailure", "The server failed; the error was logged.", 500)
