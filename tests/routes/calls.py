"""Calling a route as a person, and reading what came back: a refusal in the right shape, a
leak of another person's data, the database before and after."""

import json
import re

from django.apps import apps
from django.contrib.messages import ERROR
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.routes.classes import ROUTES, Access, methods_of, routes

EXPLICIT_PATHS = {
    "admin/^(?P<app_label>auth|authtoken)/$": "/admin/auth/",
    "admin/(?P<url>.*)$": "/admin/no-such-page/",
}


def concrete(pattern: str, values: dict) -> str:
    if pattern in EXPLICIT_PATHS:
        return EXPLICIT_PATHS[pattern]
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), pattern)


def clients_for(people: dict) -> dict:
    """One client per person and kind (API: token; pages: session), made once: a test client
    loads the middlewares on its first request, which is most of a request's cost here."""
    clients = {("anon", True): APIClient(), ("anon", False): Client()}
    for person, user in people.items():
        browser = Client()
        browser.force_login(user)
        clients[(person, True)] = client_for(user)
        clients[(person, False)] = browser
    return clients


def call(client, method: str, path: str, api: bool, body: dict | None = None):
    if api and method in ("post", "put", "patch"):
        return getattr(client, method)(path, body or {}, format="json")
    if method in ("post", "put", "patch"):
        return getattr(client, method)(path, body or {})
    return getattr(client, method)(path)


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def error_shaped(response) -> bool:
    try:
        body = json.loads(body_text(response))
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (
        set(body) == {"error"}
        and isinstance(error, dict)
        and set(error) == {"code", "message", "details"}
        and bool(error["message"])
    )


def sent_back_with_an_error(response) -> bool:
    stored = getattr(response.wsgi_request, "_messages", None)
    return response.status_code == 302 and any(m.level == ERROR for m in (stored or []))


def leaked(response, markers: list[str]) -> str:
    shown = body_text(response)
    leaked = [marker for marker in markers if marker in shown]
    return f"{response.status_code} showing {leaked}" if leaked else ""


def refusal_problem(path: str, person: str, response) -> str:
    """What is wrong with ``response`` as a refusal, or ''."""
    status = response.status_code
    if status >= 500:
        return f"{status} (a server error)"
    if path.startswith("/api/"):
        if status not in (401, 403, 404, 405):  # 405: the route does not serve the method
            return f"{status}, not a refusal"
        return "" if error_shaped(response) else f"{status} not in the one error shape"
    if path.startswith("/admin/"):
        location = response.headers.get("Location", "")
        return "" if status == 404 or location.startswith("/admin/login/") else f"{status}"
    if status == 405:
        return ""  # the route does not serve this method: nothing done, nothing shown
    if person in ("anon", "former_manager"):
        location = response.headers.get("Location", "")
        return "" if status == 302 and location.startswith("/login/") else f"{status}, not sign-in"
    if status in (403, 404) or sent_back_with_an_error(response):
        return ""
    return f"{status}, not a refusal"


# GET routes that answer their own user something other than 2xx with this world, and why.
SERVED_OTHERWISE = {
    "api/v1/items/<id:item_id>/media": "a text item has no image (404)",
    "api/v1/items/<id:item_id>/frames/<id:frame>": "a text item has no frames (404)",
    "api/v1/items/<id:item_id>/thumbnail": "a text item has no thumbnail (404)",
    "api/v1/jobs/<id:job_id>/stream": "job A is not a streaming job (404 saying so)",
    "api/v1/jobs/<id:job_id>/results": "job A is not a streaming job (404 saying so)",
    "api/v1/jobs/<id:job_id>/auto-labeling": "job A has no automated labeling (404 saying so)",
    "api/v1/flows/<id:flow_id>/key-value-corrections.csv": "flow A is not a forms review (400)",
    "api/v1/marketplace/<id:job_id>/qualification": "job A is not on the marketplace",
    "work/marketplace/<id:job_id>/qualification": "job A is not on the marketplace",
}

# Tables a refused request may write: the sign-in sessions of the test clients and the
# throttle's and token cache's bookkeeping.
WRITTEN_BY_ANY_REQUEST = {"sessions.session"}


def access_of(pattern: str, method: str) -> Access:
    access = ROUTES[pattern]
    return access[method] if isinstance(access, dict) else access


def database() -> dict[str, list]:
    """Every row of every table, to tell that refused requests changed nothing."""
    rows = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label not in WRITTEN_BY_ANY_REQUEST:
            rows[label] = list(model.objects.order_by("pk").values())
    return rows


def paths_name_objects_that_exist(clients, values) -> list[str]:
    """The refusals mean something only if each path names real objects: the person a route
    serves gets its GET answered."""
    problems = []
    for pattern, view in routes():
        if pattern not in ROUTES or pattern in SERVED_OTHERWISE or "get" not in methods_of(view):
            continue
        served = access_of(pattern, "get").served
        if not served:
            continue
        path = concrete(pattern, values)
        response = call(clients[(served, path.startswith("/api/"))], "get", path, api=True)
        if not 200 <= response.status_code < 400 and response.status_code != 405:  # POST only
            problems.append(f"GET {path} as {served}: {response.status_code} (for the check)")
    return problems
