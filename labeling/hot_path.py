"""The labeling loop's two requests (next task, submit) served ahead of Django's handler.

Every answer is one ``POST /api/v1/jobs/{id}/tasks/next`` and one ``POST
/api/v1/assignments/{id}/submit``. Through Django's handler, its ten middlewares, URL
resolving and DRF's request, negotiation and response classes they cost about as much of
the web's CPU as the claim and the submit themselves (issue 20, bench/README.md "The fifth
pass"). This WSGI application answers those two requests when they are the labeling loop's
plain case — a ``Token`` of an active labeler, JSON or no body, no query, a host the settings
allow — with the same views' code (``labeling.api.task_next_reply``, ``submit_reply``), the
same errors, the same headers and the same request signals; everything else, and anything
it is not sure of, goes to Django unchanged, before anything is done. Responses are
compared with Django's in tests/labeling/api/test_hot_path.py.

It turns itself off (everything goes to Django) when ``QUORUM_API_HOT_PATH`` is off or the
middlewares or DRF settings are not the ones it answers for.
"""

import io
import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.signals import setting_changed
from django.http.request import split_domain_port, validate_host
from django.urls import set_script_prefix
from django.utils.log import log_response
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from labeling import api
from labeling.authentication import token_user
from labeling.errors import QuorumError, api_exception_handler, error_body
from labeling.middleware import content_security_policy
from labeling.models import Role

# Ids as the URLs take them (labeling/converters.py): a longer number is left to Django (404).
TASK_NEXT = re.compile(r"/api/v1/jobs/([0-9]{1,18})/tasks/next")
SUBMIT = re.compile(r"/api/v1/assignments/([0-9]{1,18})/submit")

# The stack whose effects on these two requests this module reproduces: with any other, off.
MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "labeling.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "labeling.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "labeling.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labeling.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "labeling.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "labeling.negotiation.FirstRendererNegotiation",
    "URL_FORMAT_OVERRIDE": None,
}
# What negotiation gives the JSON renderer at once (labeling/negotiation.py).
ACCEPTED = frozenset({"", "*/*", "application/json"})
JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
# DRF's own view headers: one renderer (no Vary), POST and OPTIONS allowed.
ALLOW = ("Allow", "POST, OPTIONS")
_RENDERER = JSONRenderer()

StartResponse = Callable[..., Any]


def _strict_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")  # as DRF's parser: NaN and Infinity refused


class _Reply:
    """The response body; closing it ends the request as Django's response does."""

    def __init__(self, body: bytes):
        self.body = body

    def __iter__(self):
        return iter((self.body,))

    def close(self) -> None:
        signals.request_finished.send(sender=WSGIHandler)


class _Settings:
    """What the settings decide for every request, read again when the settings change."""

    def __init__(self) -> None:
        framework = getattr(settings, "REST_FRAMEWORK", {})
        self.enabled = (
            getattr(settings, "QUORUM_API_HOT_PATH", False)
            and tuple(settings.MIDDLEWARE) == MIDDLEWARE
            and all(framework.get(key) == value for key, value in REST_FRAMEWORK.items())
            and not framework.get("DEFAULT_THROTTLE_CLASSES")
            and not framework.get("DEFAULT_VERSIONING_CLASS")
            and settings.FORCE_SCRIPT_NAME is None
            and not settings.PREPEND_WWW
            and not settings.DISALLOWED_USER_AGENTS
            and not settings.USE_X_FORWARDED_PORT
            and api_settings.URL_FORMAT_OVERRIDE is None
        )
        self.allowed_hosts = settings.ALLOWED_HOSTS or (
            [".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else []
        )
        self.use_forwarded_host = settings.USE_X_FORWARDED_HOST
        self.proxy_ssl_header = settings.SECURE_PROXY_SSL_HEADER
        self.ssl_redirect = settings.SECURE_SSL_REDIRECT
        self.body_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # The middlewares' headers, innermost first, as they add them to a JSON response.
        self.headers = [("X-Frame-Options", settings.X_FRAME_OPTIONS.upper())]
        self.headers.append(("Content-Security-Policy", content_security_policy()))
        security = []
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            security.append(("X-Content-Type-Options", "nosniff"))
        if settings.SECURE_REFERRER_POLICY:
            policy = settings.SECURE_REFERRER_POLICY
            if isinstance(policy, str):
                policy = [value.strip() for value in policy.split(",")]
            security.append(("Referrer-Policy", ",".join(policy)))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            security.append(
                ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)
            )
        self.security = security
        self.hsts = None
        if settings.SECURE_HSTS_SECONDS:
            hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
            if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                hsts += "; includeSubDomains"
            if settings.SECURE_HSTS_PRELOAD:
                hsts += "; preload"
            self.hsts = ("Strict-Transport-Security", hsts)


_current: _Settings | None = None


def _settings() -> _Settings:
    global _current
    if _current is None:
        _current = _Settings()
    return _current


def _forget_settings(**_kwargs: Any) -> None:
    global _current
    _current = None


setting_changed.connect(_forget_settings, dispatch_uid="labeling.hot_path")


def _is_secure(environ: dict, conf: _Settings) -> bool:
    if conf.proxy_ssl_header:
        header, secure_value = conf.proxy_ssl_header
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _host_allowed(environ: dict, conf: _Settings) -> bool:
    """Django's ``request.get_host()`` check (CommonMiddleware), without a request."""
    if conf.use_forwarded_host and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    elif "HTTP_HOST" in environ:
        host = environ["HTTP_HOST"]
    else:
        return False  # Django builds one from SERVER_NAME: rare, left to it
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, conf.allowed_hosts)


def _content_length(environ: dict) -> int | None:
    text = environ.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isdigit() else None


class HotPathApplication:
    """Django's WSGI application with the labeling loop's two requests answered first."""

    def __init__(self, django_application: WSGIHandler):
        self.django = django_application

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            route = TASK_NEXT.fullmatch(path) or SUBMIT.fullmatch(path)
            if route is not None:
                answered = self._answer(environ, start_response, route)
                if answered is not None:
                    return answered
        return self.django(environ, start_response)

    def _answer(
        self, environ: dict, start_response: StartResponse, route: re.Match
    ) -> Iterable[bytes] | None:
        """The response, or None (nothing done) for Django to answer."""
        conf = _settings()
        if (
            not conf.enabled
            or environ.get("SCRIPT_NAME")
            or environ.get("QUERY_STRING")
            or environ.get("HTTP_ACCEPT", "").strip() not in ACCEPTED
        ):
            return None
        secure = _is_secure(environ, conf)
        if (conf.ssl_redirect and not secure) or not _host_allowed(environ, conf):
            return None
        length = _content_length(environ)
        if length is None or (conf.body_limit is not None and length > conf.body_limit):
            return None
        key = _token_key(environ)
        if key is None:
            return None
        submit = route.re is SUBMIT
        answer = None
        if submit:
            answer, readable = _read_answer(environ, length)
            if not readable:
                return None
        set_script_prefix("/")
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        object_id = int(route.group(1))
        headers: dict[str, str] = {}
        try:
            user = token_user(key)
            if user is None or not user.is_active or user.role != Role.LABELER:
                return None  # Django answers 401 or 403 (and sends request_started again)
            if submit:
                code, body = api.submit_reply(assignment_id=object_id, user=user, answer=answer)
            else:
                code, body, headers = api.task_next_reply(job_id=object_id, user=user)
        except QuorumError as exc:
            code, body = exc.status_code, error_body(exc.code, exc.message, exc.details)
        except Exception as exc:  # noqa: BLE001 - answered as DRF and Django answer it
            replied = api_exception_handler(exc, {})
            if replied is None:
                return self._server_error(environ, start_response, exc, conf, secure)
            code, body, headers = replied.status_code, replied.data, dict(replied.items())
            headers.pop("Content-Type", None)
        return self._reply(environ, start_response, code, body, headers, conf, secure)

    def _reply(
        self,
        environ: dict,
        start_response: StartResponse,
        code: int,
        body: Any,
        extra: dict[str, str],
        conf: _Settings,
        secure: bool,
    ) -> Iterable[bytes]:
        content = _RENDERER.render(body, "application/json", {}) if body is not None else b""
        headers = [("Content-Type", "application/json")] if content else []
        headers.extend(extra.items())
        headers.append(ALLOW)
        headers.extend(conf.headers)
        headers.append(("Content-Length", str(len(content))))
        self._security_headers(headers, conf, secure)
        phrase = HTTPStatus(code).phrase
        if code >= 400:
            _log(environ, code, phrase)
        start_response(f"{code} {phrase}", headers)
        return _Reply(content)

    def _server_error(
        self,
        environ: dict,
        start_response: StartResponse,
        exc: Exception,
        conf: _Settings,
        secure: bool,
    ) -> Iterable[bytes]:
        """As Django answers a view's exception: logged, signalled, handler500's page."""
        response = response_for_exception(WSGIRequest(environ), exc)
        headers = [(name, value) for name, value in response.items()]
        names = {name.lower() for name, _ in headers}
        for name, value in conf.headers:
            if name.lower() not in names:
                headers.append((name, value))
        if "content-length" not in names:
            headers.append(("Content-Length", str(len(response.content))))
        self._security_headers(headers, conf, secure)
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return _Reply(response.content)

    @staticmethod
    def _security_headers(headers: list, conf: _Settings, secure: bool) -> None:
        if secure and conf.hsts:
            headers.append(conf.hsts)
        headers.extend(conf.security)


def _token_key(environ: dict) -> str | None:
    """The key of ``Authorization: Token <key>`` as DRF's TokenAuthentication reads it; None
    for anything else (no header, another scheme, a malformed one)."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    try:
        parts = header.encode("iso-8859-1").split()
    except UnicodeError:
        return None
    if len(parts) != 2 or parts[0].lower() != b"token":
        return None
    try:
        return parts[1].decode()
    except UnicodeError:
        return None


def _read_answer(environ: dict, length: int) -> tuple[Any, bool]:
    """The submitted answer as SubmitIn validates it: a JSON object with a non-null
    ``answer``. (None, False) for any other body, which is put back for Django to read."""
    if environ.get("CONTENT_TYPE", "").strip().lower() not in JSON_TYPES or length <= 0:
        return None, False
    stream = environ["wsgi.input"]
    raw = stream.read(length)
    environ["wsgi.input"] = io.BytesIO(raw)  # for Django, if it answers
    if len(raw) != length:
        return None, False
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_strict_constant)
    except ValueError:
        return None, False
    if not isinstance(data, dict) or data.get("answer") is None:
        return None, False
    return data["answer"], True


def _log(environ: dict, code: int, phrase: str) -> None:
    """Django's warning for a 4xx answer (``django.request``), as its handler logs it."""
    request = WSGIRequest(environ)

    class _Logged:
        status_code = code
        _has_been_logged = False

    log_response("%s: %s", phrase, request.path, response=_Logged(), request=request)
