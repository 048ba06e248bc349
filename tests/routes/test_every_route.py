"""Every route of the app refuses whoever may not see or change what it serves.

The routes are read from Django's resolver, not listed by hand: each must be classified below,
either by who may use it (and so who is refused) or as public on purpose with the reason. A
route added without a class fails ``test_every_route_is_classified``, which says what to do.

``test_no_route_serves_whom_it_must_refuse`` builds one world (a job of team A with items, a
lease and an answer, a template, a hook, a flow with a loop, two vendors...), checks that each
path names real objects (the person a route serves gets its GET), then calls every route with
every method it serves as each person its class refuses (and the outsider with their own job's
id beside team A's item or answer): an API answers 401, 403 or 404 in the one error shape; a
page sends an anonymous visitor to sign in and answers anyone else 403 or 404 (or, for a form's
POST, sends them back with an error message); never 2xx with data, never 500, and the database
is unchanged after. Routes that list what a user may see answer the others 200 without any of
team A's data; a teammate never sees the labeler's own comment or the managers' configuration,
another manager never an owner's hook URL or access key.

Who each route serves and refuses is in ``classes.py``; the world is ``conftest.py``'s; the
requests no person of it would send are ``test_odd_requests.py``'s.
"""

import re

from tests.routes.calls import (
    access_of,
    call,
    clients_for,
    concrete,
    database,
    leaked,
    paths_name_objects_that_exist,
    refusal_problem,
)
from tests.routes.classes import (
    BODIES,
    OWN_CREDENTIALS,
    PRIVATE_COMMENT,
    PUBLIC,
    ROUTES,
    methods_of,
    routes,
)


def test_every_route_is_classified():
    patterns = {pattern for pattern, _ in routes()}
    unclassified = sorted(patterns - set(ROUTES) - set(PUBLIC) - set(OWN_CREDENTIALS))
    assert not unclassified, (
        "these routes are in no list of tests/routes/classes.py: add each to ROUTES with "
        "who may use it (and so who is refused), or to PUBLIC / OWN_CREDENTIALS with the "
        f"reason it is open: {unclassified}"
    )
    gone = sorted((set(ROUTES) | set(PUBLIC) | set(OWN_CREDENTIALS)) - patterns)
    assert not gone, f"tests/routes/classes.py lists routes that no longer exist: {gone}"
    assert not set(ROUTES) & (set(PUBLIC) | set(OWN_CREDENTIALS))


def test_no_route_serves_whom_it_must_refuse(world):
    people, values, markers = world["people"], world["values"], world["markers"]
    clients = clients_for(people)
    former = people["former_manager"]
    former.is_active = False  # after their session and token were made
    former.save(update_fields=["is_active"])
    problems = paths_name_objects_that_exist(clients, values)
    before = database()
    calls = 0
    for pattern, view in routes():
        if pattern not in ROUTES:
            continue
        path = concrete(pattern, values)
        # The outsider names their own job (team B) and team A's item, answer or lease in it.
        mixed = None
        if "<id:job_id>" in pattern and re.search(r"<id:(item|annotation|action)_id>", pattern):
            mixed = concrete(pattern, {**values, "job_id": world["own_job_of_outsider"]})
        api = path.startswith("/api/")
        body = BODIES.get(pattern)
        for method in methods_of(view):
            access = access_of(pattern, method)
            tries = [(person, path) for person in access.refused]
            if mixed and "outsider" not in access.filtered:
                tries.append(("outsider", mixed))
            for person, url in tries:
                response = call(clients[(person, api)], method, url, api, body)
                calls += 1
                problem = refusal_problem(url, person, response) or leaked(
                    response, markers[person]
                )
                if problem:
                    problems.append(f"{method.upper()} {url} as {person}: {problem}")
            seen_by = [(person, markers[person]) for person in access.filtered]
            if method == "get" and access.served == "labeler" and "teammate" not in access.refused:
                seen_by.append(("teammate", [PRIVATE_COMMENT, *world["manager_only"]]))
            # Every manager's pages and answers: never another manager's hook URL or key.
            others = (*access.refused, *access.filtered)
            if method == "get" and access.served == "manager" and "other_manager" not in others:
                seen_by.append(("other_manager", world["owner_only"]))
            for person, hidden in seen_by:
                response = call(clients[(person, api)], method, path, api, body)
                calls += 1
                if response.status_code >= 500:
                    problems.append(f"{method.upper()} {path} as {person}: server error")
                    continue
                leak = leaked(response, hidden)
                if leak:
                    problems.append(f"{method.upper()} {path} as {person}: {leak}")
    after = database()
    changed = sorted(label for label in before if before[label] != after[label])
    assert calls > 1000
    assert not problems, "\n".join(problems)
    assert not changed, f"refused requests changed these tables: {changed}"
