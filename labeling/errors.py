"""The project's exceptions and the one place that maps every API error to one JSON shape.

Every error body is ``{"error": {"code": "...", "message": "...", "details": {...}}}``.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class QuorumError(Exception):
    """A refusal the client can act on. Services raise these; the API maps them."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class ValidationFailed(QuorumError):
    status_code = 400
    code = "invalid"


class NotAllowed(QuorumError):
    status_code = 403
    code = "forbidden"


class NotFound(QuorumError):
    status_code = 404
    code = "not_found"


class Conflict(QuorumError):
    status_code = 409
    code = "conflict"


class LeaseExpired(Conflict):
    code = "lease_expired"


class LeaseClosed(Conflict):
    code = "lease_closed"


class InvalidTransition(Conflict):
    code = "invalid_transition"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _first_message(value)
        return inner if key == "non_field_errors" else f"{key}: {inner}"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: our errors, DRF's and Django's in the one shape."""
    if isinstance(exc, QuorumError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body("invalid", _first_message(detail), {"fields": detail}), status=400
        )
    if isinstance(exc, drf_exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        return Response(
            error_body(code, _first_message(exc.detail)), status=exc.status_code, headers=headers
        )
    return None


def json_not_found(request, exception=None) -> JsonResponse:  # noqa: ARG001
    return JsonResponse(error_body("not_found", f"No such address: {request.path}"), status=404)


def json_server_error(request) -> JsonResponse:  # noqa: ARG001
    return JsonResponse(
        error_body("server_error", "The server failed; the error was logged."), status=500
    )
