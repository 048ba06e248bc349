"""Requests no person of the world would send: forged tokens on the routes with credentials of
their own, anonymous visits to the public routes, ids past the database's integers and junk
numbers in every query and body. Never a 2xx for a forgery, never a 500."""

import re

from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.routes.calls import call, clients_for, concrete, error_shaped
from tests.routes.classes import FORGED_TOKEN, OWN_CREDENTIALS, PUBLIC, ROUTES, methods_of, routes


def test_routes_with_their_own_credentials_refuse_forged_ones(db):
    """Forged tokens and unsigned requests are refused: in the one error shape under /api/, in
    the managed service's shapes on /a2i and /sagemaker (docs/a2i.md), a page elsewhere."""
    values = {"token": FORGED_TOKEN, "name": "loop-a1"}
    problems = []
    for pattern, view in routes():
        if pattern not in OWN_CREDENTIALS:
            continue
        path = concrete(pattern, values)
        for method in methods_of(view):
            response = call(APIClient(), method, path, api=True)
            if response.status_code < 400 or response.status_code >= 500:
                problems.append(f"{method.upper()} {path}: {response.status_code}")
            elif path.startswith("/api/") and not error_shaped(response):
                problems.append(f"{method.upper()} {path}: not in the one error shape")
    assert not problems, "\n".join(problems)


def test_public_routes_answer_anonymous_visitors_without_a_server_error(db):
    problems = []
    for pattern, view in routes():
        if pattern not in PUBLIC:
            continue
        path = concrete(pattern, {"name": "no-such-asset.js"})
        for method in methods_of(view):
            response = call(Client(), method, path, api=False)
            if response.status_code >= 500:
                problems.append(f"{method.upper()} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_an_id_past_the_databases_integers_names_nothing_on_any_route(manager):
    """Ids are 64-bit: a longer number does not resolve (labeling/converters.py) and is a 404,
    never the 500 SQLite's driver gave for it."""
    too_big = str(10**20)
    clients = {True: client_for(manager), False: Client()}
    clients[False].force_login(manager)
    problems = []
    for pattern, view in routes():
        if "<id:" not in pattern:
            continue
        path = "/" + re.sub(r"<id:\w+>", too_big, re.sub(r"<(?:str|path):\w+>", "x", pattern))
        api = path.startswith("/api/")
        for method in methods_of(view):
            response = call(clients[api], method, path, api)
            if response.status_code != 404 or (api and not error_shaped(response)):
                problems.append(f"{method.upper()} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)


# Names of numbers and ids the routes read from a query or a body.
NUMBER_NAMES = (
    "team", "team_id", "user", "user_id", "job", "job_id", "item", "item_id", "worker",
    "worker_id", "template", "template_id", "version", "parent_id", "hook", "pre_hook",
    "consolidation_hook", "dataset_job", "flow", "more", "reward_cents", "priority", "member",
    "reviewer", "action_id", "after", "limit", "id", "ids", "min_workers_per_item",
    "workers_per_item", "human_budget", "round_every", "hours", "pass_mark", "frame", "wait",
)  # fmt: skip


def test_no_route_answers_junk_numbers_with_a_server_error(world):
    """Every route, as the people it serves, with each of those names a number past any id, or
    not a number, in the query and the body: refused or ignored, never a 500."""
    clients = clients_for(world["people"])
    problems = []
    for pattern, view in routes():
        if pattern not in ROUTES:
            continue
        path = concrete(pattern, world["values"])
        api = path.startswith("/api/")
        for method in methods_of(view):
            for junk in (str(10**20), "x"):
                body = {name: junk for name in NUMBER_NAMES}
                url = path + "?" + "&".join(f"{name}={junk}" for name in NUMBER_NAMES)
                for person in ("manager", "labeler"):
                    response = call(clients[(person, api)], method, url, api, body)
                    if response.status_code >= 500:
                        problems.append(f"{method.upper()} {url[:60]}… as {person}: 500")
    assert not problems, "\n".join(problems)
