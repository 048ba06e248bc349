"""A review loop over an LLM type: a model posts its pairwise judgment (its preferred response
and a confidence) through the prediction API or StartHumanLoop; a low-confidence one goes to
a reviewer, whose UI shows the model's choice pre-selected, and the loop completes with it."""

import json

import pytest

from labeling.models import Assignment, Job
from labeling.task_ui.rendering import render_task
from tests.conftest import client_for
from workflows.models import HumanLoop
from workflows.services.loops import human_loop_start
from workflows.states import HumanLoopStatus

pytestmark = pytest.mark.django_db

CONTENT = {"prompt": "Capital of France?", "response_a": "Lyon.", "response_b": "**Paris**."}


def judgment(pid: str, label: str, confidence: float) -> dict:
    return {
        "id": pid,
        "input": {**CONTENT, "prompt": f"{CONTENT['prompt']} ({pid})"},
        "prediction": {"label": label, "confidence": confidence, "model": "judge-1"},
    }


def test_a_low_confidence_judgment_is_reviewed_with_the_model_choice_preselected(
    make_flow, manager_client, make_labeler, manager, team, django_capture_on_commit_callbacks
):
    dataset = Job.objects.create(
        name="preference-set",
        label_attribute_name="pref",
        task_type="llm-pairwise-preference",
        labels=["A", "B", "tie"],
        team=team,
        created_by=manager,
    )
    flow = make_flow(
        task_type="llm-pairwise-preference",
        labels=["A", "B", "tie"],
        conditions={"confidence_below": 0.7},
        dataset_job=dataset,
    )
    assert flow.job.task_type == "review-llm-pairwise-preference"
    response = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions",
        {"predictions": [judgment("p1", "B", 0.95), judgment("p2", "B", 0.55)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["decision"] for r in results] == ["accepted", "review"]

    reviewer = client_for(make_labeler("rev"))
    with django_capture_on_commit_callbacks(execute=True):
        lease = reviewer.post(f"/api/v1/flows/{flow.pk}/tasks/next")
        assert lease.status_code == 200, lease.content
        data = lease.json()["item"]["data"]
        assert data["prompt"] == "Capital of France? (p2)" and data["response_b"] == "**Paris**."
        assert data["prediction"] == {"label": "B", "confidence": 0.55}
        html = render_task(Assignment.objects.get(pk=lease.json()["assignment_id"]))
        assert "<crowd-pairwise-preference" in html and 'value="B"' in html
        assert "The model prefers" in html and "response B" in html and "0.55" in html
        submitted = reviewer.post(
            f"/api/v1/assignments/{lease.json()['assignment_id']}/submit",
            {"answer": {"preference": {"preference": "B", "strength": 2}}},
            format="json",
        )
        assert submitted.status_code == 201, submitted.content
    loop = HumanLoop.objects.get(name=results[1]["loop"])
    assert loop.status == HumanLoopStatus.COMPLETED
    assert loop.human_label == "B" and loop.agrees is True
    assert loop.output["humanAnswers"][0]["answerContent"] == {"preference": "B", "strength": 2}
    assert loop.output["consolidatedAnswer"]["label"] == "B"
    # The reviewed judgment joins the dataset job and exports as a preference pair.
    export = manager_client.get(f"/api/v1/jobs/{dataset.pk}/export?format=preferences")
    assert export.status_code == 200
    (pair,) = [json.loads(x) for x in b"".join(export.streaming_content).decode().splitlines()]
    assert pair == {
        "prompt": "Capital of France? (p2)",
        "chosen": "**Paris**.",
        "rejected": "Lyon.",
    }


def test_start_human_loop_takes_the_judgment_from_the_input_content(make_flow):
    flow = make_flow(task_type="llm-pairwise-preference", labels=["A", "B", "tie"])
    content = {**CONTENT, "prediction": {"label": "tie", "confidence": 0.4}}
    loop = human_loop_start(flow=flow, name="judge-p3", input_content=json.dumps(content))
    assert (loop.model_label, loop.model_confidence) == ("tie", 0.4)
    line = json.loads(loop.item.data)
    assert {k: line[k] for k in CONTENT} == CONTENT
    assert line["prediction"] == {"label": "tie", "confidence": 0.4}


def test_a_judgment_item_missing_a_response_is_refused(make_flow, manager_client):
    flow = make_flow(
        task_type="llm-pairwise-preference",
        labels=["A", "B", "tie"],
        conditions={"confidence_below": 0.7},
    )
    bad = judgment("p4", "A", 0.1)
    del bad["input"]["response_b"]
    response = manager_client.post(
        f"/api/v1/flows/{flow.pk}/predictions", {"predictions": [bad]}, format="json"
    )
    assert response.status_code == 400
    assert "response_b" in response.json()["error"]["message"]
    assert not HumanLoop.objects.filter(flow=flow).exists()
