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

The other tests: forged tokens on the routes with credentials of their own, public routes
without a 500, ids past the database's integers (404) and junk numbers in every query and body
(never a 500).
"""

import json
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.messages import ERROR
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from labeling.models import ImportRun, Role, TeamMembership, TeamRole
from labeling.review.services.comments import item_comment_add
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.users import user_create
from labeling.task_ui.services.templates import custom_template_create
from labeling.workforces.services.teams import team_create
from labeling.workforces.services.workforces import vendor_create
from tests.conftest import client_for
from workflows.services.access_keys import access_key_create
from workflows.services.flows import flow_create
from workflows.services.loops import human_loop_start

# --- Who each class of route refuses ---------------------------------------------------------
# Persons: anon (no credentials), labeler (on the job's team; holds the lease and the answer),
# teammate (on the team, holds nothing), outsider (a labeler of another team), vendor (the
# manager of a vendor the job was never granted to), other_manager (a manager who owns nothing),
# former_manager (a manager deactivated after signing in and getting a token: as anon).
# Every manager sees every job, team, template and flow (docs/templates.md: "every manager sees
# every template, as every manager sees every job"); hooks and access keys are their owner's
# (docs/pipelines.md, workflows/views.py), so only those refuse another manager.


@dataclass(frozen=True)
class Access:
    refused: tuple[str, ...]  # must be refused
    filtered: tuple[str, ...] = ()  # may answer 2xx, but with none of team A's data
    served: str = "manager"  # whom its GET serves (the check that the path's objects exist)


NOT_LABELERS = ("anon", "former_manager", "labeler", "teammate", "outsider", "vendor")
MANAGER = Access(refused=NOT_LABELERS)
MANAGER_OWNED = Access(refused=(*NOT_LABELERS, "other_manager"))
LABELER_ON_JOB = Access(refused=("anon", "outsider", "vendor"), served="labeler")
LEASE_HOLDER = Access(
    refused=("anon", "teammate", "outsider", "vendor", "other_manager"), served="labeler"
)
ANSWERED_ITEM = Access(refused=("anon", "teammate", "outsider", "vendor"), served="labeler")
# The job's reviewers (a role on its team) and managers; the labeler and teammate are not.
REVIEWER = Access(refused=("anon", "labeler", "teammate", "outsider", "vendor"))
LABELER_LIST = Access(
    refused=("anon", "vendor", "other_manager"), filtered=("outsider",), served="labeler"
)
SIGNED_IN_LIST = Access(
    refused=("anon", "former_manager"), filtered=("outsider", "vendor"), served="labeler"
)
VENDOR_LIST = Access(
    refused=("anon", "labeler", "outsider", "other_manager"),
    filtered=("vendor",),
    served="vendor_a",
)
VENDOR_MEMBER = Access(
    refused=("anon", "labeler", "outsider", "other_manager", "vendor"), served="vendor_a"
)
# Django's admin: staff only, its own sign-in; nobody in this world is staff.
ADMIN = Access(refused=("anon", "labeler", "outsider", "vendor", "other_manager"), served="")

# A route's Access, or one per method where its methods differ.
ROUTES: dict[str, Access | dict[str, Access]] = {
    # API: the labeling domain
    "api/v1/teams": {"get": SIGNED_IN_LIST, "post": MANAGER},
    "api/v1/teams/<id:team_id>/members": MANAGER,
    "api/v1/workers": MANAGER,
    "api/v1/jobs": {"get": SIGNED_IN_LIST, "post": MANAGER},
    "api/v1/jobs/<id:job_id>": LABELER_ON_JOB,
    "api/v1/jobs/<id:job_id>/start": MANAGER,
    "api/v1/jobs/<id:job_id>/stop": MANAGER,
    "api/v1/jobs/<id:job_id>/items": MANAGER,
    "api/v1/jobs/<id:job_id>/images": MANAGER,
    "api/v1/jobs/<id:job_id>/videos": MANAGER,
    "api/v1/jobs/<id:job_id>/export": MANAGER,
    "api/v1/jobs/<id:job_id>/stats": MANAGER,
    "api/v1/jobs/<id:job_id>/tasks/next": LABELER_ON_JOB,
    "api/v1/jobs/<id:job_id>/tasks/mine": LABELER_ON_JOB,
    "api/v1/imports/<id:import_id>": MANAGER,
    "api/v1/assignments/<id:assignment_id>/submit": LEASE_HOLDER,
    "api/v1/assignments/<id:assignment_id>/skip": LEASE_HOLDER,
    "api/v1/assignments/<id:assignment_id>/release": LEASE_HOLDER,
    "api/v1/items/<id:item_id>/media": LABELER_ON_JOB,
    "api/v1/items/<id:item_id>/frames/<id:frame>": LABELER_ON_JOB,
    "api/v1/items/<id:item_id>/thumbnail": MANAGER,
    # quality
    "api/v1/jobs/<id:job_id>/quality": MANAGER,
    "api/v1/jobs/<id:job_id>/quality/reestimate": MANAGER,
    "api/v1/jobs/<id:job_id>/gold": MANAGER,
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/gold": MANAGER,
    "api/v1/jobs/<id:job_id>/review": MANAGER,
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/final-label": MANAGER,
    "api/v1/jobs/<id:job_id>/workers/<id:worker_id>/resume": MANAGER,
    # workforces
    "api/v1/marketplace": LABELER_LIST,
    "api/v1/marketplace/<id:job_id>/join": Access(refused=("anon", "outsider", "vendor")),
    "api/v1/marketplace/<id:job_id>/qualification": Access(refused=("anon", "outsider", "vendor")),
    "api/v1/me/earnings": LABELER_LIST,
    "api/v1/payouts.csv": MANAGER,
    "api/v1/jobs/<id:job_id>/publish": MANAGER,
    "api/v1/jobs/<id:job_id>/unpublish": MANAGER,
    "api/v1/jobs/<id:job_id>/grant": MANAGER,
    "api/v1/vendors": MANAGER,
    "api/v1/vendor/members": VENDOR_LIST,
    "api/v1/vendor/members/<id:user_id>": VENDOR_MEMBER,
    "api/v1/teams/<id:team_id>/invitations": MANAGER,
    # task UIs
    "api/v1/templates": MANAGER,
    "api/v1/templates/preview": MANAGER,
    "api/v1/templates/<id:template_id>": MANAGER,
    "api/v1/templates/<id:template_id>/versions": MANAGER,
    "api/v1/templates/<id:template_id>/versions/<id:number>": MANAGER,
    "api/v1/jobs/<id:job_id>/template": MANAGER,
    # review
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/review": REVIEWER,
    "api/v1/jobs/<id:job_id>/review/settings": MANAGER,
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/comments": ANSWERED_ITEM,
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/history": MANAGER,
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/reopen": MANAGER,
    "api/v1/jobs/<id:job_id>/reopen": MANAGER,
    "api/v1/jobs/<id:job_id>/reviewers": MANAGER,
    "api/v1/annotations/<id:annotation_id>/revise": LEASE_HOLDER,
    # console API
    "api/v1/jobs/<id:job_id>/items/count": MANAGER,
    "api/v1/jobs/<id:job_id>/bulk-actions": MANAGER,
    "api/v1/jobs/<id:job_id>/bulk-actions/<id:action_id>": MANAGER,
    "api/v1/jobs/<id:job_id>/bulk-actions/<id:action_id>/download": MANAGER,
    "api/v1/jobs/<id:job_id>/live": MANAGER,
    # pipelines
    "api/v1/jobs/<id:job_id>/stream": MANAGER,
    "api/v1/jobs/<id:job_id>/results": MANAGER,
    "api/v1/hooks": {
        "get": Access(refused=NOT_LABELERS, filtered=("other_manager",)),
        "post": MANAGER,
    },
    "api/v1/hooks/<id:hook_id>": MANAGER_OWNED,
    # every manager sees a job's hooks by name; the hook itself (its URL) is its owner's
    "api/v1/jobs/<id:job_id>/hooks": {
        "get": Access(refused=NOT_LABELERS, filtered=("other_manager",)),
        "put": MANAGER,
    },
    "api/v1/jobs/<id:job_id>/chain": MANAGER,
    "api/v1/jobs/<id:job_id>/chain/export": MANAGER,
    "api/v1/taxonomies": MANAGER,
    "api/v1/taxonomies/<id:taxonomy_id>": MANAGER,
    # review loops
    # labelers get the brief list of their teams' flows (workflows/api.py FlowListCreate)
    "api/v1/flows": {"get": SIGNED_IN_LIST, "post": MANAGER},
    "api/v1/flows/<id:flow_id>": MANAGER,
    "api/v1/flows/<id:flow_id>/stats": MANAGER,
    "api/v1/flows/<id:flow_id>/predictions": MANAGER,
    "api/v1/flows/<id:flow_id>/loops": MANAGER,
    "api/v1/flows/<id:flow_id>/deliveries": MANAGER,
    "api/v1/flows/<id:flow_id>/tasks/next": LABELER_ON_JOB,
    "api/v1/loops/<str:name>": MANAGER,
    "api/v1/loops/<str:name>/stop": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring/alerts": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring/evaluate": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring/baselines": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring/settings": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring/ground-truth": MANAGER,
    "api/v1/flows/<id:flow_id>/monitoring/ground-truth/export": MANAGER,
    "api/v1/flows/<id:flow_id>/outputs.jsonl": MANAGER,
    "api/v1/flows/<id:flow_id>/key-value-corrections.csv": MANAGER,
    # automated labeling
    "api/v1/jobs/<id:job_id>/auto-labeling": MANAGER,
    "api/v1/jobs/<id:job_id>/auto-labeling/off": MANAGER,
    "api/v1/jobs/<id:job_id>/auto-labeling/rounds": MANAGER,
    "api/v1/jobs/<id:job_id>/auto-labeling/models": MANAGER,
    "api/v1/jobs/<id:job_id>/auto-labeling/audits": MANAGER,
    "api/v1/jobs/<id:job_id>/auto-labeling/quality": MANAGER,
    # Pages: everyone signed in
    "": SIGNED_IN_LIST,
    "mentions": SIGNED_IN_LIST,
    "mentions/read": Access(refused=("anon", "former_manager")),
    # the labeler portal
    "work/": LABELER_LIST,
    "work/marketplace": LABELER_LIST,
    "work/marketplace/<id:job_id>/join": Access(refused=("anon", "outsider", "vendor")),
    "work/marketplace/<id:job_id>/qualification": Access(refused=("anon", "outsider", "vendor")),
    "work/jobs/<id:job_id>/": LABELER_ON_JOB,
    "work/assignments/<id:assignment_id>/ui": LEASE_HOLDER,
    "work/jobs/<id:job_id>/review": REVIEWER,
    "work/jobs/<id:job_id>/items/<id:item_id>/ui": ANSWERED_ITEM,
    "work/jobs/<id:job_id>/answers": LABELER_ON_JOB,
    "work/jobs/<id:job_id>/answers/<id:annotation_id>": LEASE_HOLDER,
    # the vendor console
    "vendor/": VENDOR_LIST,
    "vendor/members": VENDOR_LIST,
    "vendor/members/<id:user_id>/remove": VENDOR_MEMBER,
    "vendor/members/<id:user_id>/reset": VENDOR_MEMBER,
    # the manager console
    "console/": MANAGER,
    "console/jobs/new": MANAGER,
    "console/jobs/<id:job_id>/": MANAGER,
    "console/jobs/<id:job_id>/start": MANAGER,
    "console/jobs/<id:job_id>/stop": MANAGER,
    "console/jobs/<id:job_id>/quality": MANAGER,
    "console/jobs/<id:job_id>/quality/settings": MANAGER,
    "console/jobs/<id:job_id>/gold": MANAGER,
    "console/jobs/<id:job_id>/quality/reestimate": MANAGER,
    "console/jobs/<id:job_id>/workers/<id:worker_id>/resume": MANAGER,
    "console/jobs/<id:job_id>/workforce": MANAGER,
    "console/teams": MANAGER,
    "console/teams/<id:team_id>/invite": MANAGER,
    "console/teams/labelers": MANAGER,
    "console/templates": MANAGER,
    "console/templates/<id:template_id>/": MANAGER,
    "console/jobs/<id:job_id>/items/<id:item_id>": MANAGER,
    "console/jobs/<id:job_id>/items/<id:item_id>/reopen": MANAGER,
    "console/jobs/<id:job_id>/reopen": MANAGER,
    "console/jobs/<id:job_id>/review": MANAGER,
    "console/jobs/<id:job_id>/review/settings": MANAGER,
    "console/jobs/<id:job_id>/items/<id:item_id>/comments": MANAGER,
    "console/jobs/<id:job_id>/items": MANAGER,
    "console/jobs/<id:job_id>/hooks": Access(refused=NOT_LABELERS, filtered=("other_manager",)),
    "console/taxonomies/new": MANAGER,
    "console/jobs/<id:job_id>/auto-labeling": MANAGER,
    "console/jobs/<id:job_id>/auto-labeling/on": MANAGER,
    "console/jobs/<id:job_id>/auto-labeling/off": MANAGER,
    "console/jobs/<id:job_id>/auto-labeling/round": MANAGER,
    "console/jobs/<id:job_id>/auto-labeling/audit": MANAGER,
    "console/flows/": MANAGER,
    "console/flows/new": MANAGER,
    "console/flows/<id:flow_id>/": MANAGER,
    "console/flows/<id:flow_id>/loops/<str:name>/stop": MANAGER,
    "console/flows/<id:flow_id>/monitoring": MANAGER,
    # GET lists your own keys; POST issues you one
    "console/access-keys": {
        "get": Access(refused=NOT_LABELERS, filtered=("other_manager",)),
        "post": MANAGER,
    },
    "console/access-keys/<id:key_id>/revoke": MANAGER_OWNED,
    # Django's admin (staff only)
    "admin/": ADMIN,
    "admin/password_change/": ADMIN,
    "admin/password_change/done/": ADMIN,
    "admin/autocomplete/": ADMIN,
    "admin/jsi18n/": ADMIN,
    "admin/r/<path:content_type_id>/<path:object_id>/": ADMIN,
    "admin/auth/group/": ADMIN,
    "admin/auth/group/add/": ADMIN,
    "admin/auth/group/<path:object_id>/history/": ADMIN,
    "admin/auth/group/<path:object_id>/delete/": ADMIN,
    "admin/auth/group/<path:object_id>/change/": ADMIN,
    "admin/auth/group/<path:object_id>/": ADMIN,
    "admin/authtoken/tokenproxy/": ADMIN,
    "admin/authtoken/tokenproxy/add/": ADMIN,
    "admin/authtoken/tokenproxy/<path:object_id>/history/": ADMIN,
    "admin/authtoken/tokenproxy/<path:object_id>/delete/": ADMIN,
    "admin/authtoken/tokenproxy/<path:object_id>/change/": ADMIN,
    "admin/authtoken/tokenproxy/<path:object_id>/": ADMIN,
    "admin/^(?P<app_label>auth|authtoken)/$": ADMIN,
    "admin/(?P<url>.*)$": ADMIN,
}

# Public on purpose, with the reason. Routes with credentials of their own (a signed token in
# the address, SigV4) are called here with a forged one and must refuse it, never 2xx or 500.
PUBLIC: dict[str, str] = {
    "healthz": "the load balancer's probe: no data, no credentials",
    "api/v1/schema": "the OpenAPI schema is public (docs/api.md): shapes, no data",
    "api/v1/docs": "the schema's interactive page, public like the schema",
    "login/": "sign-in",
    "logout/": "sign-out",
    "admin/login/": "the admin's sign-in (throttled like /login/)",
    "admin/logout/": "the admin's sign-out: ends the caller's own session, nothing else",
    "signup": "open crowd sign-up (docs/workforces.md), throttled per address and name",
    "api/v1/crowd/signup": "open crowd sign-up over the API, throttled like the page",
    "work/frame-assets/<path:name>": "the sandboxed task frame's static scripts and styles",
}
OWN_CREDENTIALS: dict[str, str] = {
    "join/<str:token>": "an invitation link: the unguessable token is the credential",
    "api/v1/invitations/<str:token>/accept": "an invitation link, as the page",
    "api/v1/media/signed/<str:token>": "a signed, expiring media link",
    "api/v1/hook-payloads/<str:token>": "a signed payload link given to one hook call",
    "work/frame/<str:token>": "a signed frame link, made for one lease's task UI",
    "a2i/human-loops": "the review-loop runtime API: SigV4 with Quorum's access keys",
    "a2i/human-loops/<str:name>": "the review-loop runtime API: SigV4",
    "a2i/output/<str:token>": "a loop's output: a signed link",
    "sagemaker": "the control plane: SigV4 with Quorum's access keys (docs/a2i.md)",
    "sagemaker/": "the control plane, with a trailing slash",
}

SECRET_JOB = "secret-job-a7"
SECRET_TEXT = "secret text of team A"
SECRET_MEMBER = "acme-member-q3"
SECRET_FLOW = "secret-flow-a7"
SECRET_VENDOR = "Acme vendor a7"
# What only the labeler (and managers, reviewers) may see: their comment on the item they
# answered. A teammate on the same job sees the job and its items, never this.
PRIVATE_COMMENT = "private comment of lab-in q9"
# Where the manager's hook calls (its owner's alone) and where the flow's webhook calls (every
# manager's, no labeler's: a labeler lists their teams' flows in brief).
HOOK_URL = "https://203.0.113.5"
FLOW_WEBHOOK = "https://203.0.113.6/flow"

# Bodies that would go through for the person the route serves, so that a refusal is a refusal
# of the write itself, not of a malformed body. Other writes are sent ``{}``.
BODIES: dict[str, dict] = {
    "api/v1/assignments/<id:assignment_id>/submit": {"answer": {"label": "cat"}},
    "api/v1/annotations/<id:annotation_id>/revise": {"answer": {"label": "dog"}},
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/review": {"action": "accept"},
    "api/v1/jobs/<id:job_id>/items/<id:item_id>/comments": {"body": "hello"},
    "api/v1/marketplace/<id:job_id>/qualification": {"answers": {}},
    "api/v1/marketplace/<id:job_id>/join": {},
    "work/jobs/<id:job_id>/answers/<id:annotation_id>": {"answer": '{"label": "dog"}'},
    "console/jobs/<id:job_id>/items/<id:item_id>/comments": {"body": "hello"},
    # another vendor's manager tries to take vendor A's second member (the database is
    # compared after; the name is not one of the markers, as the refusal repeats it)
    "api/v1/vendor/members": {"username": "acme-second", "password": "taken-member-pass-91"},
    "vendor/members": {"username": "acme-second", "password": "taken-member-pass-91"},
}

FORGED_TOKEN = "forged-0000000000000000000000000000"


def routes() -> list[tuple[str, object]]:
    """(pattern, view) of every route, depth first, as Django resolves them."""
    found: list[tuple[str, object]] = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append((prefix + str(entry.pattern), entry.callback))

    walk(get_resolver(), "")
    return found


def methods_of(view) -> list[str]:
    """A DRF (or class-based) view's own methods; a function view is tried with GET and POST."""
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is None:
        return ["get", "post"]
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]


def test_every_route_is_classified():
    patterns = {pattern for pattern, _ in routes()}
    unclassified = sorted(patterns - set(ROUTES) - set(PUBLIC) - set(OWN_CREDENTIALS))
    assert not unclassified, (
        "these routes are in no list of tests/test_every_route.py: add each to ROUTES with "
        "who may use it (and so who is refused), or to PUBLIC / OWN_CREDENTIALS with the "
        f"reason it is open: {unclassified}"
    )
    gone = sorted((set(ROUTES) | set(PUBLIC) | set(OWN_CREDENTIALS)) - patterns)
    assert not gone, f"tests/test_every_route.py lists routes that no longer exist: {gone}"
    assert not set(ROUTES) & (set(PUBLIC) | set(OWN_CREDENTIALS))


# --- The world ---------------------------------------------------------------------------------


@pytest.fixture
def world(manager, team, make_job, make_labeler, settings, django_capture_on_commit_callbacks):
    settings.QUORUM_OUTBOUND_ALLOW = ["203.0.113.0/24"]
    people = {
        "manager": manager,
        "labeler": make_labeler("lab-in"),
        "teammate": make_labeler("lab-mate"),
        "outsider": make_labeler("lab-out", on_team=(team_b := team_create(name="Team B"))),
    }
    # The outsider reviews their own team's jobs: a reviewer of team B, not of team A.
    TeamMembership.objects.filter(user=people["outsider"]).update(role=TeamRole.REVIEWER)
    people["other_manager"] = user_create(
        username="pm2", role=Role.MANAGER, password="manager-pass-2"
    )[0]
    people["former_manager"] = user_create(
        username="pm-gone", role=Role.MANAGER, password="manager-pass-3"
    )[0]
    acme = vendor_create(
        name=SECRET_VENDOR, manager_username="acme-boss", manager_password="acme-pw-77!x"
    )
    globex = vendor_create(name="Globex", manager_username="globex-boss",
                           manager_password="globex-pw-77!x")  # fmt: skip
    people["vendor_a"] = acme.vendor_manager
    people["vendor"] = globex.vendor_manager
    member = user_create(username=SECRET_MEMBER, role=Role.LABELER, team=acme)[0]
    user_create(username="acme-second", role=Role.LABELER, team=acme)

    job = make_job(items=0, start=False, name=SECRET_JOB, workers_per_item=2)
    from tests.conftest import import_lines

    import_lines(job, manager, [{"source": f"{SECRET_TEXT} {i}"} for i in range(4)])
    from labeling.services.jobs import job_start

    job_start(job=job, by=manager)
    lab = people["labeler"]
    answered = assignment_claim(job=job, worker=lab)
    annotation = annotation_submit(assignment_id=answered.pk, worker=lab, answer={"label": "cat"})
    item_comment_add(job=job, item_id=answered.item_id, author=lab, body=PRIVATE_COMMENT)
    lease = assignment_claim(job=job, worker=lab)
    job_b = make_job(items=2, name="job-b", team=team_b)
    outsider = people["outsider"]
    answer_b = assignment_claim(job=job_b, worker=outsider)
    annotation_submit(assignment_id=answer_b.pk, worker=outsider, answer={"label": "dog"})

    owner = client_for(manager)
    template = custom_template_create(
        created_by=manager, name="t1", source="<p>{{ task.input.source }}</p>", sample={}
    )
    hook = owner.post("/api/v1/hooks", {"name": "h1", "url": f"{HOOK_URL}/hook"}, format="json")
    assert hook.status_code == 201, hook.content
    named = owner.put(
        f"/api/v1/jobs/{job.pk}/hooks", {"consolidation_hook": hook.json()["id"]}, format="json"
    )
    assert named.status_code == 200, named.content
    taxonomy = owner.post(
        "/api/v1/taxonomies",
        {"name": "tax", "team_id": team.pk, "task_type": "text-classification",
         "definition": {"labels": ["a", "b"]}},
        format="json",
    )  # fmt: skip
    assert taxonomy.status_code == 201, taxonomy.content
    with django_capture_on_commit_callbacks(execute=True):  # the export runs after commit
        action = owner.post(
            f"/api/v1/jobs/{job.pk}/bulk-actions",
            {"kind": "export", "selection": {"filters": {}}, "params": {"format": "csv"}},
            format="json",
        )
    assert action.status_code in (201, 202), action.content
    flow = flow_create(
        created_by=manager, name=SECRET_FLOW, team=team, task_type="text-classification",
        labels=["cat", "dog"], webhook_url=FLOW_WEBHOOK,
    )  # fmt: skip
    loop = human_loop_start(flow=flow, name="loop-a1", input_content=json.dumps({"source": "x"}))
    key = access_key_create(user=manager)
    values = {
        "job_id": job.pk,
        "item_id": answered.item_id,
        "assignment_id": lease.pk,
        "annotation_id": annotation.pk,
        "import_id": ImportRun.objects.filter(job=job).order_by("pk").first().pk,
        "team_id": team.pk,
        "worker_id": lab.pk,
        "user_id": member.pk,
        "template_id": template.pk,
        "number": 1,
        "hook_id": hook.json()["id"],
        "taxonomy_id": taxonomy.json()["id"],
        "action_id": action.json()["id"],
        "flow_id": flow.pk,
        "name": loop.name,
        "key_id": key.pk,
        "frame": 0,
        "content_type_id": 1,
        "object_id": 1,
        "token": FORGED_TOKEN,
    }
    # What each person never sees: the managers' own configuration (hooks, keys) nobody but
    # its owner; vendor A's organization nobody of team A; team A's job, items, flow and
    # people nobody outside it.
    owner_only = [HOOK_URL, key.access_key_id]
    manager_only = [*owner_only, FLOW_WEBHOOK]
    team_a = [SECRET_JOB, SECRET_FLOW, SECRET_TEXT, "Team A", "lab-in"]
    vendor_a = [SECRET_MEMBER, SECRET_VENDOR]
    outside = [*team_a, *vendor_a, *manager_only]
    markers = {
        "labeler": [*vendor_a, *manager_only],
        "teammate": [*vendor_a, *manager_only],
        "other_manager": owner_only,
        **{person: outside for person in ("anon", "former_manager", "outsider", "vendor")},
    }
    return {
        "people": people,
        "values": values,
        "markers": markers,
        "manager_only": manager_only,
        "owner_only": owner_only,
        "own_job_of_outsider": job_b.pk,
    }


EXPLICIT_PATHS = {
    "admin/^(?P<app_label>auth|authtoken)/$": "/admin/auth/",
    "admin/(?P<url>.*)$": "/admin/no-such-page/",
}


def concrete(pattern: str, values: dict) -> str:
    if pattern in EXPLICIT_PATHS:
        return EXPLICIT_PATHS[pattern]
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), pattern)


def _clients(people: dict) -> dict:
    """One client per person and kind (API: token; pages: session), made once: a test client
    loads the middlewares on its first request, which is most of a request's cost here."""
    clients = {("anon", True): APIClient(), ("anon", False): Client()}
    for person, user in people.items():
        browser = Client()
        browser.force_login(user)
        clients[(person, True)] = client_for(user)
        clients[(person, False)] = browser
    return clients


def _call(client, method: str, path: str, api: bool, body: dict | None = None):
    if api and method in ("post", "put", "patch"):
        return getattr(client, method)(path, body or {}, format="json")
    if method in ("post", "put", "patch"):
        return getattr(client, method)(path, body or {})
    return getattr(client, method)(path)


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _error_shaped(response) -> bool:
    try:
        body = json.loads(_body(response))
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return (
        set(body) == {"error"}
        and isinstance(error, dict)
        and set(error) == {"code", "message", "details"}
        and bool(error["message"])
    )


def _sent_back_with_an_error(response) -> bool:
    stored = getattr(response.wsgi_request, "_messages", None)
    return response.status_code == 302 and any(m.level == ERROR for m in (stored or []))


def _leak(response, markers: list[str]) -> str:
    shown = _body(response)
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
        return "" if _error_shaped(response) else f"{status} not in the one error shape"
    if path.startswith("/admin/"):
        location = response.headers.get("Location", "")
        return "" if status == 404 or location.startswith("/admin/login/") else f"{status}"
    if status == 405:
        return ""  # the route does not serve this method: nothing done, nothing shown
    if person in ("anon", "former_manager"):
        location = response.headers.get("Location", "")
        return "" if status == 302 and location.startswith("/login/") else f"{status}, not sign-in"
    if status in (403, 404) or _sent_back_with_an_error(response):
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


def _access(pattern: str, method: str) -> Access:
    access = ROUTES[pattern]
    return access[method] if isinstance(access, dict) else access


def _database() -> dict[str, list]:
    """Every row of every table, to tell that refused requests changed nothing."""
    rows = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label not in WRITTEN_BY_ANY_REQUEST:
            rows[label] = list(model.objects.order_by("pk").values())
    return rows


def _paths_name_objects_that_exist(clients, values) -> list[str]:
    """The refusals mean something only if each path names real objects: the person a route
    serves gets its GET answered."""
    problems = []
    for pattern, view in routes():
        if pattern not in ROUTES or pattern in SERVED_OTHERWISE or "get" not in methods_of(view):
            continue
        served = _access(pattern, "get").served
        if not served:
            continue
        path = concrete(pattern, values)
        response = _call(clients[(served, path.startswith("/api/"))], "get", path, api=True)
        if not 200 <= response.status_code < 400 and response.status_code != 405:  # POST only
            problems.append(f"GET {path} as {served}: {response.status_code} (for the check)")
    return problems


def test_no_route_serves_whom_it_must_refuse(world):
    people, values, markers = world["people"], world["values"], world["markers"]
    clients = _clients(people)
    former = people["former_manager"]
    former.is_active = False  # after their session and token were made
    former.save(update_fields=["is_active"])
    problems = _paths_name_objects_that_exist(clients, values)
    before = _database()
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
            access = _access(pattern, method)
            tries = [(person, path) for person in access.refused]
            if mixed and "outsider" not in access.filtered:
                tries.append(("outsider", mixed))
            for person, url in tries:
                response = _call(clients[(person, api)], method, url, api, body)
                calls += 1
                problem = refusal_problem(url, person, response) or _leak(response, markers[person])
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
                response = _call(clients[(person, api)], method, path, api, body)
                calls += 1
                if response.status_code >= 500:
                    problems.append(f"{method.upper()} {path} as {person}: server error")
                    continue
                leak = _leak(response, hidden)
                if leak:
                    problems.append(f"{method.upper()} {path} as {person}: {leak}")
    after = _database()
    changed = sorted(label for label in before if before[label] != after[label])
    assert calls > 1000
    assert not problems, "\n".join(problems)
    assert not changed, f"refused requests changed these tables: {changed}"


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
            response = _call(APIClient(), method, path, api=True)
            if response.status_code < 400 or response.status_code >= 500:
                problems.append(f"{method.upper()} {path}: {response.status_code}")
            elif path.startswith("/api/") and not _error_shaped(response):
                problems.append(f"{method.upper()} {path}: not in the one error shape")
    assert not problems, "\n".join(problems)


def test_public_routes_answer_anonymous_visitors_without_a_server_error(db):
    problems = []
    for pattern, view in routes():
        if pattern not in PUBLIC:
            continue
        path = concrete(pattern, {"name": "no-such-asset.js"})
        for method in methods_of(view):
            response = _call(Client(), method, path, api=False)
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
            response = _call(clients[api], method, path, api)
            if response.status_code != 404 or (api and not _error_shaped(response)):
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
    clients = _clients(world["people"])
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
                    response = _call(clients[(person, api)], method, url, api, body)
                    if response.status_code >= 500:
                        problems.append(f"{method.upper()} {url[:60]}… as {person}: 500")
    assert not problems, "\n".join(problems)
