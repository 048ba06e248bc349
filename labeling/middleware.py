"""Middleware of every request: body limits from Content-Length, security headers, the pages'
one-time messages."""

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse

from labeling.errors import error_body

CSP_HEADER = "Content-Security-Policy"

# A view names the setting that limits its request bodies (``body_limit_setting``); the
# others get Django's limit of a request body held in memory.
DEFAULT_BODY_LIMIT_SETTING = "DATA_UPLOAD_MAX_MEMORY_SIZE"


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestBodyLimitMiddleware:
    """Answer 413 when Content-Length claims more than the view's limit, before anything
    reads the body: an upload over the limit is never received, let alone parsed or stored.

    It works in ``process_view``, where the view is known, and must come before the CSRF
    middleware, whose check of a form reads the body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        declared = _declared_length(request)
        if declared <= 0:
            return None
        view = getattr(view_func, "view_class", view_func)
        limit = getattr(settings, getattr(view, "body_limit_setting", DEFAULT_BODY_LIMIT_SETTING))
        if limit is None or declared <= limit:
            return None
        return JsonResponse(
            error_body(
                "request_too_large",
                f"the request body of {declared} bytes is over this endpoint's limit of "
                f"{limit} bytes; nothing was read",
                {"limit": limit, "content_length": declared},
            ),
            status=413,
        )


def content_security_policy() -> str:
    """The strict policy: nothing but this origin, and images and video also from the
    configured media origins (``QUORUM_CSP_MEDIA_ORIGINS``), never from any host."""
    media = " ".join(["'self'", "data:", "blob:", *settings.QUORUM_CSP_MEDIA_ORIGINS])
    return (
        f"default-src 'self'; img-src {media}; media-src {media}; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


class ContentSecurityPolicyMiddleware:
    """Give every response without a policy of its own the strict one.

    A view that needs another policy (a sandboxed frame, say) sets the header itself; this
    middleware never replaces one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response.headers:
            response.headers[CSP_HEADER] = content_security_policy()
        return response


# The REST API's prefix (config/urls.py): JSON, never a page that shows one-time messages.
API_PATH_PREFIX = "/api/"


class PageMessageMiddleware(MessageMiddleware):
    """Django's one-time messages for the pages only: an API request gets no message storage
    (issue 20: building it, a cookie store and a session store, was 2 % of the web's CPU per
    answer, for requests that never read or add a message)."""

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(API_PATH_PREFIX):
            super().process_request(request)
