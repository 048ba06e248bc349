"""Console pages of review loops: flows, a flow's dashboard and delivery log, access keys.

Thin: reads through selectors, writes through one service each. Reviewers work on loops in
the labeler portal, where a flow's backing job is listed like any job.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labeling import selectors as labeling_selectors
from labeling.errors import QuorumError
from labeling.views import manager_page
from workflows import selectors
from workflows.forms import FlowCreateForm
from workflows.models import AccessKey, Flow
from workflows.monitoring import selectors as monitoring_selectors
from workflows.services.access_keys import access_key_create, access_key_revoke
from workflows.services.flows import flow_create
from workflows.services.loops import flow_arn, human_loop_stop

RECENT_LOOPS = 25
RECENT_DELIVERIES = 50


def _flow(request: HttpRequest, flow_id: int) -> Flow:
    flow = selectors.flow_get_for_user(flow_id=flow_id, user=request.user)
    if flow is None:
        raise Http404("no such flow")
    return flow


@require_GET
@manager_page
def flows(request: HttpRequest) -> HttpResponse:
    flows_shown = list(selectors.flows_for_user(user=request.user)[:200])
    alerts = monitoring_selectors.open_alerts_by_flow(flow_ids=[flow.pk for flow in flows_shown])
    job_alerts = monitoring_selectors.open_job_alerts_by_flow(
        flow_ids=[flow.pk for flow in flows_shown]
    )
    rows = [
        {
            "flow": flow,
            "arn": flow_arn(flow),
            "open_alerts": alerts.get(flow.pk, 0),
            "job_alerts": job_alerts.get(flow.pk, 0),
        }
        for flow in flows_shown
    ]
    return render(request, "workflows/flows.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@manager_page
def flow_new(request: HttpRequest) -> HttpResponse:
    form = FlowCreateForm(
        request.POST or None,
        teams=labeling_selectors.teams_for_user(user=request.user),
        jobs=labeling_selectors.jobs_for_user(user=request.user).exclude(flow__isnull=False),
    )
    if request.method == "POST" and form.is_valid():
        try:
            flow = flow_create(created_by=request.user, **form.service_kwargs())
        except QuorumError as exc:
            form.add_service_error(exc)
        else:
            messages.success(
                request,
                f"Flow “{flow.name}” created; its team reviews its loops in the labeler portal.",
            )
            return redirect("console-flow", flow_id=flow.pk)
    return render(request, "workflows/flow_new.html", {"form": form})


@require_GET
@manager_page
def flow_dashboard(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = _flow(request, flow_id)
    stats = selectors.flow_stats(flow=flow)
    over_time = stats["agreement_over_time"]
    chart = {
        "hours": over_time["hours"],
        "series": [
            {
                "label": "people agreed with the model",
                "counts": [round(p["reviewed"] * p["agreement"]) for p in over_time["points"]],
            },
            {
                "label": "people corrected the model",
                "counts": [
                    p["reviewed"] - round(p["reviewed"] * p["agreement"])
                    for p in over_time["points"]
                ],
            },
        ],
    }
    loops, _ = selectors.loops_page(flow=flow, limit=RECENT_LOOPS)
    context = {
        "flow": flow,
        "arn": flow_arn(flow),
        "stats": stats,
        "chart": chart,
        "loops": loops,
        "deliveries": selectors.flow_deliveries(flow=flow, limit=RECENT_DELIVERIES),
        "open_alerts": monitoring_selectors.open_alerts(flow=flow),
    }
    return render(request, "workflows/flow_dashboard.html", context)


@require_POST
@manager_page
def loop_stop_view(request: HttpRequest, flow_id: int, name: str) -> HttpResponse:
    flow = _flow(request, flow_id)
    loop = selectors.loop_get(name=name)
    if loop is None or loop.flow_id != flow.pk:
        raise Http404("no such loop")
    try:
        human_loop_stop(loop=loop)
    except QuorumError as exc:
        messages.error(request, f"The loop was not stopped: {exc.message}.")
    else:
        messages.success(request, f"Loop {name} is stopping; no one is offered it any more.")
    return redirect("console-flow", flow_id=flow.pk)


@require_http_methods(["GET", "POST"])
@manager_page
def access_keys(request: HttpRequest) -> HttpResponse:
    """The manager's runtime-API key pairs; POST issues one and shows its secret once."""
    issued = None
    if request.method == "POST":
        try:
            issued = access_key_create(user=request.user)
        except QuorumError as exc:
            messages.error(request, exc.message)
    keys = selectors.access_keys_for_user(user=request.user)
    return render(request, "workflows/access_keys.html", {"keys": keys, "issued": issued})


@require_POST
@manager_page
def access_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = AccessKey.objects.filter(pk=key_id, user_id=request.user.pk).first()
    if key is None:
        raise Http404("no such key of yours")
    access_key_revoke(key=key)
    messages.success(request, f"Key {key.access_key_id} revoked: requests signed with it fail.")
    return redirect("console-access-keys")
