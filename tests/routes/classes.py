"""Who may use each route of the app, and so whom it must refuse (tests/routes/).

Every route Django resolves is classified here: ``ROUTES`` by who may use it, ``PUBLIC`` and
``OWN_CREDENTIALS`` as open on purpose with the reason. ``test_every_route_is_classified``
fails on a route in no list. The other modules of this package build the world the routes are
called in (``conftest.py``), call them (``calls.py``) and check the answers (``test_*.py``).
"""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

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
