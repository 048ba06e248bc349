"""Console pages of review loops: flows, a new flow, the dashboard, access keys."""

import pytest
from django.test import Client

from labeling.crypto import secret_decrypt
from labeling.models import TeamKind
from labeling.workforces.services.teams import team_create
from workflows.models import AccessKey, Flow
from workflows.services.loops import human_loop_start


@pytest.fixture
def manager_web(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def test_a_manager_creates_a_flow_in_the_console(manager_web, team):
    page = manager_web.get("/console/flows/new")
    assert page.status_code == 200 and b"review-text-classification" not in page.content
    response = manager_web.post(
        "/console/flows/new",
        {
            "name": "support-tickets",
            "task_type": "text-classification",
            "labels": "billing\nbug\nother",
            "team": team.pk,
            "workers_per_loop": 2,
            "task_time_limit_seconds": 300,
            "loop_lifetime_hours": 2,
            "confidence_below": 0.7,
            "sample_percent": 1,
        },
    )
    flow = Flow.objects.get(name="support-tickets")
    assert response.status_code == 302 and response["Location"] == f"/console/flows/{flow.pk}/"
    assert flow.conditions == {"confidence_below": 0.7}
    assert flow.loop_lifetime_seconds == 7200 and flow.job.workers_per_item == 2
    listing = manager_web.get("/console/flows/")
    assert b"support-tickets" in listing.content
    bad = manager_web.post(
        "/console/flows/new",
        {
            "name": "x y",
            "task_type": "text-classification",
            "labels": "a",
            "team": team.pk,
            "workers_per_loop": 1,
            "task_time_limit_seconds": 300,
            "loop_lifetime_hours": 1,
            "conditions": '{"nope": 1}',
        },
    )
    assert bad.status_code == 200 and b"field-error" in bad.content


def test_a_crowd_flow_must_say_its_data_may_leave_the_private_workforce(manager_web):
    crowd = team_create(name="Crowd", kind=TeamKind.CROWD)
    fields = {
        "name": "crowd-flow",
        "task_type": "text-classification",
        "labels": "a\nb",
        "team": crowd.pk,
        "workers_per_loop": 1,
        "task_time_limit_seconds": 300,
        "loop_lifetime_hours": 1,
    }
    refused = manager_web.post("/console/flows/new", fields)
    assert refused.status_code == 200 and b"field-error" in refused.content
    assert not Flow.objects.filter(name="crowd-flow").exists()
    created = manager_web.post("/console/flows/new", {**fields, "data_may_leave_private": "on"})
    assert created.status_code == 302
    assert Flow.objects.get(name="crowd-flow").job.data_may_leave_private is True


def test_the_dashboard_shows_routing_agreement_and_deliveries(
    manager_web, make_flow, outbound_loopback_allowed
):
    flow = make_flow(webhook_url="http://127.0.0.1:9/hook")
    human_loop_start(flow=flow, name="dash-1", input_content='{"source": "x"}')
    page = manager_web.get(f"/console/flows/{flow.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "dash-1" in body and 'id="agreement-over-time"' in body
    assert 'data-status="InProgress">1<' in body
    stop = manager_web.post(f"/console/flows/{flow.pk}/loops/dash-1/stop")
    assert stop.status_code == 302


def test_managers_issue_and_revoke_access_keys(manager_web, manager, labeler):
    page = manager_web.post("/console/access-keys")
    key = AccessKey.objects.get(user=manager)
    secret = secret_decrypt(key.secret_encrypted)
    assert secret.encode() in page.content  # shown once, on issue
    listing = manager_web.get("/console/access-keys")
    assert secret.encode() not in listing.content
    manager_web.post(f"/console/access-keys/{key.pk}/revoke")
    key.refresh_from_db()
    assert key.revoked_at is not None
    labeler_web = Client()
    labeler_web.force_login(labeler)
    assert labeler_web.get("/console/access-keys").status_code == 403
