"""Flows, routing, reviewing through the foundation's task endpoints, and loop endings."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import Assignment, ConsolidatedLabel, Item, Job, Role
from labeling.selectors import labeler_job_list
from labeling.services.jobs import jobs_complete_finished
from labeling.services.users import user_create
from labeling.workforces.services.teams import team_create
from tests.conftest import client_for
from workflows.models import HumanLoop, HumanLoopStatusChange, Prediction, WebhookDelivery
from workflows.services.loops import human_loops_sweep
from workflows.states import HumanLoopStatus

CONDITIONS = {"any": [{"confidence_below": 0.8}, {"label_in": ["bird"]}]}


def route(client, flow, predictions):
    response = client.post(
        f"/api/v1/flows/{flow.pk}/predictions", {"predictions": predictions}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def prediction(pid, label, confidence, text=None):
    return {
        "id": pid,
        "input": {"source": text or f"text of {pid}", "lang": "en"},
        "prediction": {"label": label, "confidence": confidence},
    }


def review(client, flow, label):
    """Lease the flow's next loop as a labeler and answer it with ``label``."""
    lease = client.post(f"/api/v1/flows/{flow.pk}/tasks/next")
    assert lease.status_code == 200, lease.content
    body = lease.json()
    answer = {"category": {"label": label}}
    submitted = client.post(
        f"/api/v1/assignments/{body['assignment_id']}/submit", {"answer": answer}, format="json"
    )
    assert submitted.status_code == 201, submitted.content
    return body


def test_a_manager_creates_a_flow_over_the_api(manager_client, team):
    response = manager_client.post(
        "/api/v1/flows",
        {
            "name": "moderation",
            "team": team.pk,
            "task_type": "text-classification",
            "labels": ["ok", "abuse"],
            "workers_per_loop": 3,
            "conditions": CONDITIONS,
            "sample_percent": 5,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["arn"].endswith(":flow-definition/moderation")
    assert body["workers_per_loop"] == 3 and len(body["webhook_secret"]) == 64
    job = Job.objects.get(pk=body["job"])
    assert job.status == "in_progress" and job.expires_at is None
    bad = manager_client.post(
        "/api/v1/flows",
        {
            "name": "Bad_Name",
            "team": team.pk,
            "task_type": "text-classification",
            "labels": ["a"],
            "conditions": {"any": [{"all": [{"any": [{"label_in": ["a"]}]}]}]},
        },
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["field"] == "name"


def test_routing_accepts_confident_predictions_and_sends_the_rest_to_review(
    make_flow, manager_client
):
    flow = make_flow(conditions=CONDITIONS)
    results = route(
        manager_client,
        flow,
        [
            prediction("p1", "cat", 0.95),
            prediction("p2", "cat", 0.5),
            prediction("p3", "bird", 0.99),
        ],
    )
    assert [r["decision"] for r in results] == ["accepted", "review", "review"]
    assert results[1]["reason"] == "condition"
    loops = {loop.name: loop for loop in HumanLoop.objects.filter(flow=flow)}
    assert set(loops) == {results[1]["loop"], results[2]["loop"]}
    loop = loops[results[1]["loop"]]
    assert json.loads(loop.input_content) == {"source": "text of p2", "lang": "en"}
    assert loop.status == HumanLoopStatus.IN_PROGRESS
    flow.refresh_from_db()
    assert (flow.predictions_total, flow.predictions_reviewed) == (3, 2)


def test_routing_is_idempotent_per_prediction_id(make_flow, manager_client):
    flow = make_flow(conditions=CONDITIONS)
    first = route(manager_client, flow, [prediction("p1", "cat", 0.1), prediction("p2", "cat", 1)])
    # The same ids again, even with another confidence: the first decision stands.
    again = route(manager_client, flow, [prediction("p1", "cat", 0.99), prediction("p2", "dog", 0)])
    assert [r["decision"] for r in again] == [r["decision"] for r in first]
    assert again[0]["loop"] == first[0]["loop"] and again[0]["repeated"] is True
    assert HumanLoop.objects.filter(flow=flow).count() == 1
    assert Prediction.objects.filter(flow=flow).count() == 2
    assert Item.objects.filter(job=flow.job).count() == 1
    flow.refresh_from_db()
    assert flow.predictions_total == 2


def test_sampling_sends_the_same_input_the_same_way(make_flow, manager_client):
    flow = make_flow(sample_percent=50)
    batch = [prediction(f"p{i}", "cat", 0.99, text=f"t{i}") for i in range(200)]
    results = route(manager_client, flow, batch)
    reviewed = {r["id"] for r in results if r["decision"] == "review"}
    assert 60 < len(reviewed) < 140
    assert all(r["reason"] == "sample" for r in results if r["decision"] == "review")
    # Same input content under new ids: the same draw.
    again = route(
        manager_client, flow, [prediction(f"q{i}", "cat", 0.99, text=f"t{i}") for i in range(200)]
    )
    assert {r["id"][1:] for r in again if r["decision"] == "review"} == {
        pid[1:] for pid in reviewed
    }


def test_a_large_batch_is_one_call(make_flow, manager_client):
    flow = make_flow(conditions={"confidence_below": 0.5})
    batch = [prediction(f"p{i}", "cat", (i % 10) / 10) for i in range(1000)]
    results = route(manager_client, flow, batch)
    assert sum(r["decision"] == "review" for r in results) == 500
    assert HumanLoop.objects.filter(flow=flow).count() == 500
    assert HumanLoopStatusChange.objects.filter(loop__flow=flow).count() == 500
    too_many = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions", [prediction("x", "a", 1)] * 1001, format="json"
    )
    assert too_many.status_code == 400


def test_a_reviewer_completes_a_loop_with_the_foundations_endpoints(
    make_flow, manager_client, make_labeler, manager, team, django_capture_on_commit_callbacks
):
    reviewers = [client_for(make_labeler(f"rev{i}")) for i in range(3)]
    dataset = Job.objects.create(
        name="training-set",
        label_attribute_name="animal",
        task_type="text-classification",
        labels=["cat", "dog", "bird"],
        team=team,
        created_by=manager,
    )
    flow = make_flow(conditions=CONDITIONS, workers_per_loop=3, dataset_job=dataset)
    (result,) = route(manager_client, flow, [prediction("p1", "cat", 0.3)])
    with django_capture_on_commit_callbacks(execute=True):
        leases = [
            review(client, flow, label)
            for client, label in zip(reviewers, ["dog", "dog", "cat"], strict=True)
        ]
    assert leases[0]["item"]["data"]["prediction"] == {"label": "cat", "confidence": 0.3}
    assert leases[0]["item"]["data"]["source"] == "text of p1"
    loop = HumanLoop.objects.get(name=result["loop"])
    assert loop.status == HumanLoopStatus.COMPLETED
    assert loop.human_label == "dog" and loop.agrees is False
    output = loop.output
    assert [a["answerContent"] for a in output["humanAnswers"]] == [
        {"label": label} for label in ["dog", "dog", "cat"]
    ]
    assert all(
        set(a) >= {"workerId", "acceptanceTime", "submissionTime", "timeSpentInSeconds"}
        for a in output["humanAnswers"]
    )
    assert output["consolidatedAnswer"]["label"] == "dog"
    assert output["inputContent"] == {"source": "text of p1", "lang": "en"}
    history = list(loop.status_history.values_list("from_status", "to_status"))
    assert history == [("", "InProgress"), ("InProgress", "Completed")]
    # Feedback: a human label in the dataset job, exported as human-annotated.
    label = ConsolidatedLabel.objects.get(job=dataset)
    assert (label.label, label.human_annotated) == ("dog", True)
    export = manager_client.get(f"/api/v1/jobs/{dataset.pk}/export?format=manifest")
    (line,) = [json.loads(x) for x in b"".join(export.streaming_content).decode().splitlines()]
    assert line["source"] == "text of p1"
    assert line["animal-metadata"]["human-annotated"] == "yes"
    assert line["animal-metadata"]["class-name"] == "dog"
    # The backing job never completes while the flow lives: new loops keep coming.
    flow.job.refresh_from_db()
    assert flow.job.status == "in_progress"
    stats = manager_client.get(f"/api/v1/flows/{flow.pk}/stats").json()
    assert stats["review_share"] == 1.0 and stats["agreement"] == 0.0
    assert stats["loops"]["Completed"] == 1
    assert stats["agreement_over_time"]["points"][0]["reviewed"] == 1


def test_a_stopped_loop_is_never_leased_again(
    make_flow, manager_client, labeler_client, django_capture_on_commit_callbacks
):
    flow = make_flow(conditions=CONDITIONS)
    (result,) = route(manager_client, flow, [prediction("p1", "cat", 0.3)])
    lease = labeler_client.post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    with django_capture_on_commit_callbacks(execute=True):
        stopped = manager_client.post(f"/api/v1/loops/{result['loop']}/stop")
    assert stopped.status_code == 200
    loop = HumanLoop.objects.get(name=result["loop"])
    assert loop.status == HumanLoopStatus.STOPPED  # the stop task ran (eagerly here)
    assert loop.item_id is None
    assert not Assignment.objects.filter(pk=lease["assignment_id"]).exists()
    assert labeler_client.post(f"/api/v1/flows/{flow.pk}/tasks/next").status_code == 204
    late = labeler_client.post(
        f"/api/v1/assignments/{lease['assignment_id']}/submit",
        {"answer": {"category": {"label": "cat"}}},
        format="json",
    )
    assert late.status_code in (403, 404, 409)
    assert list(loop.status_history.values_list("to_status", flat=True)) == [
        "InProgress",
        "Stopping",
        "Stopped",
    ]
    again = manager_client.post(f"/api/v1/loops/{result['loop']}/stop")
    assert again.status_code == 409
    assert manager_client.delete(f"/api/v1/loops/{result['loop']}").status_code == 204
    assert not HumanLoop.objects.filter(name=result["loop"]).exists()


def test_a_loop_past_its_lifetime_fails_with_a_reason(make_flow, manager_client, labeler_client):
    flow = make_flow(conditions=CONDITIONS, loop_lifetime_seconds=60)
    (result,) = route(manager_client, flow, [prediction("p1", "cat", 0.3)])
    assert manager_client.delete(f"/api/v1/loops/{result['loop']}").status_code == 409
    counts = human_loops_sweep(now=timezone.now() + timedelta(seconds=61))
    assert counts["failed"] == 1
    loop = HumanLoop.objects.get(name=result["loop"])
    assert loop.status == HumanLoopStatus.FAILED
    assert "lifetime of 60 seconds" in loop.failure_reason
    assert loop.failure_code == "LifetimeExceeded"
    assert labeler_client.post(f"/api/v1/flows/{flow.pk}/tasks/next").status_code == 204


def test_the_sweep_completes_a_loop_whose_event_was_lost(
    make_flow, manager_client, labeler_client, monkeypatch
):
    flow = make_flow(conditions=CONDITIONS)
    (result,) = route(manager_client, flow, [prediction("p1", "cat", 0.3)])
    monkeypatch.setattr("workflows.receivers.human_loop_complete", lambda **kw: None)
    review(labeler_client, flow, "cat")
    assert HumanLoop.objects.get(name=result["loop"]).status == HumanLoopStatus.IN_PROGRESS
    assert human_loops_sweep()["completed"] == 1
    loop = HumanLoop.objects.get(name=result["loop"])
    assert loop.status == HumanLoopStatus.COMPLETED and loop.agrees is True


def test_loops_list_filters_sorts_and_pages(make_flow, manager_client):
    flow = make_flow(sample_percent=100)
    route(manager_client, flow, [prediction(f"p{i}", "cat", 1) for i in range(7)])
    seen, cursor = [], None
    while True:
        query = {"limit": 3, "sort": "asc"} | ({"cursor": cursor} if cursor else {})
        page = manager_client.get(f"/api/v1/flows/{flow.pk}/loops", query).json()
        seen += [loop["name"] for loop in page["loops"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = list(HumanLoop.objects.filter(flow=flow).order_by("created_at", "id"))
    assert seen == [loop.name for loop in expected]
    desc = manager_client.get(f"/api/v1/flows/{flow.pk}/loops", {"limit": 100}).json()
    assert [loop["name"] for loop in desc["loops"]] == seen[::-1]
    none = manager_client.get(f"/api/v1/flows/{flow.pk}/loops", {"status": "Completed"}).json()
    assert none["loops"] == []
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert (
        manager_client.get(f"/api/v1/flows/{flow.pk}/loops", {"created_after": later}).json()[
            "loops"
        ]
        == []
    )
    bad = manager_client.get(f"/api/v1/flows/{flow.pk}/loops", {"cursor": "!!"})
    assert bad.status_code == 400


def test_labelers_cannot_route_or_see_other_teams_flows(make_flow, labeler_client, make_labeler):
    flow = make_flow()
    assert (
        labeler_client.post(
            f"/api/v1/flows/{flow.pk}/predictions", [prediction("x", "a", 1)], format="json"
        ).status_code
        == 403
    )
    outsider = client_for(make_labeler("outsider", on_team=team_create(name="Other")))
    assert outsider.post(f"/api/v1/flows/{flow.pk}/tasks/next").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_completed_loop_sends_a_signed_webhook(
    make_flow, manager_client, labeler_client, webhook_receiver
):
    flow = make_flow(conditions=CONDITIONS, webhook_url=webhook_receiver.url)
    (result,) = route(manager_client, flow, [prediction("p1", "cat", 0.3)])
    review(labeler_client, flow, "dog")
    (hit,) = webhook_receiver.verified(flow.webhook_secret)
    assert hit["event"] == "human_loop.completed"
    assert hit["body"]["humanLoopName"] == result["loop"]
    assert hit["body"]["output"]["consolidatedAnswer"]["label"] == "dog"
    delivery = WebhookDelivery.objects.get(flow=flow)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert str(delivery.delivery_id) == hit["delivery"]
    log = manager_client.get(f"/api/v1/flows/{flow.pk}/deliveries").json()
    assert log[0]["status"] == "succeeded"


def test_an_inactive_flow_starts_no_loops(make_flow, manager_client):
    flow = make_flow(sample_percent=100)
    response = manager_client.patch(
        f"/api/v1/flows/{flow.pk}", {"status": "Inactive"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "Inactive"
    refused = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions", [prediction("p1", "cat", 0.1)], format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "flow_inactive"
    assert not Prediction.objects.filter(flow=flow).exists()


CUSTOM_TEMPLATE = """<crowd-form>
  <crowd-classifier name="verdict" categories='{{ task.labels | to_json }}' header="Custom UI">
    <classification-target><p class="custom-text">{{ task.input.source }}</p>
    <p class="custom-model">model: {{ task.input.prediction.label }}</p></classification-target>
  </crowd-classifier>
</crowd-form>"""


def test_a_flow_with_a_custom_task_ui(make_flow, manager_client, labeler, team):
    bad = manager_client.post(
        "/api/v1/flows",
        {
            "name": "broken-ui",
            "team": team.pk,
            "task_type": "text-classification",
            "labels": ["cat"],
            "custom_template": "{% if %}",
        },
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["field"] == "custom_template"
    flow = make_flow(custom_template=CUSTOM_TEMPLATE, conditions=CONDITIONS)
    route(manager_client, flow, [prediction("p1", "cat", 0.2, text="<b>bold</b>")])
    lease = client_for(labeler).post(f"/api/v1/flows/{flow.pk}/tasks/next").json()
    web = Client()
    web.force_login(labeler)
    ui = web.get(f"/work/assignments/{lease['assignment_id']}/ui").content.decode()
    # A custom template runs in its sandboxed frame, whose signed URL needs no session.
    frame_url = re.search(r'<iframe class="task-frame" src="([^"]+)"', ui).group(1)
    html = Client().get(frame_url).content.decode()
    assert 'header="Custom UI"' in html and "model: cat" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # autoescaped in the sandbox


def test_a_flow_holds_at_most_its_quota_of_open_loops(make_flow, manager_client, settings):
    settings.QUORUM_MAX_OPEN_LOOPS_PER_FLOW = 3
    flow = make_flow(sample_percent=100)
    route(manager_client, flow, [prediction(f"p{i}", "cat", 1) for i in range(3)])
    over = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions", [prediction("p9", "cat", 1)], format="json"
    )
    assert over.status_code == 402 and over.json()["error"]["code"] == "quota_exceeded"
    assert HumanLoop.objects.filter(flow=flow).count() == 3
    assert not Prediction.objects.filter(flow=flow, prediction_id="p9").exists()


def test_the_portal_counts_exactly_the_open_loops(
    make_flow, manager_client, labeler, labeler_client, django_capture_on_commit_callbacks
):
    flow = make_flow(sample_percent=100)

    def items_left() -> int:
        (row,) = [row for row in labeler_job_list(user=labeler) if row["job"].pk == flow.job_id]
        return row["items_remaining"]

    assert items_left() == 0
    results = route(manager_client, flow, [prediction(f"p{i}", "cat", 1) for i in range(3)])
    assert items_left() == 3
    portal = Client()
    portal.force_login(labeler)
    page = portal.get("/work/")
    assert page.status_code == 200
    assert b'data-figure="items-remaining">3<' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        review(labeler_client, flow, "cat")
    assert items_left() == 2
    with django_capture_on_commit_callbacks(execute=True):
        stopped = manager_client.post(f"/api/v1/loops/{results[2]['loop']}/stop")
    assert stopped.status_code == 200
    assert items_left() == 1
    reviewer = client_for(make_other_reviewer(flow))
    with django_capture_on_commit_callbacks(execute=True):
        review(reviewer, flow, "dog")
    assert items_left() == 0
    counts = manager_client.get(f"/api/v1/jobs/{flow.job_id}").json()["counts"]
    assert (counts["items_total"], counts["items_labeled"], counts["items_remaining"]) == (2, 2, 0)
    # Every loop it holds is done, yet the backing job stays open for the next ones.
    assert jobs_complete_finished() == 0
    assert Job.objects.get(pk=flow.job_id).status == "in_progress"
    (more,) = route(manager_client, flow, [prediction("p9", "bird", 1)])
    assert more["decision"] == "review" and items_left() == 1


def make_other_reviewer(flow):
    user, _, _ = user_create(username="rev-other", role=Role.LABELER, team=flow.team)
    return user


def test_routing_refuses_a_model_label_outside_the_flows_labels(make_flow, manager_client):
    """issue 12: a label the flow does not know would be shown to reviewers pre-selected."""
    flow = make_flow(conditions=CONDITIONS)
    refused = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions",
        {"predictions": [prediction("ok", "cat", 0.1), prediction("bad", "zebra", 0.1)]},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert "'zebra'" in error["message"] and error["details"]["label"] == "zebra"
    assert not Prediction.objects.filter(flow=flow).exists()
    assert not HumanLoop.objects.filter(flow=flow).exists()

    started = manager_client.post(
        f"/api/v1/flows/{flow.pk}/loops",
        {"name": "loop-zebra", "input": {"source": "x"}, "prediction": {"label": "zebra"}},
        format="json",
    )
    assert started.status_code == 400, started.content
    assert "'zebra'" in started.json()["error"]["message"]
    assert not HumanLoop.objects.filter(flow=flow).exists()
