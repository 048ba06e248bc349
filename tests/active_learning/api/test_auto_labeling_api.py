"""The manager API of automated labeling: on/off, rounds, models, audits; managers only."""

import pytest
from django.urls import reverse

from active_learning.forms import AutoLabelingForm
from active_learning.services.rounds import round_request, round_run
from active_learning.services.settings import auto_labeling_enable
from tests.active_learning.conftest import humans_label
from tests.conftest import client_for


@pytest.mark.django_db
def test_a_manager_turns_it_on_runs_a_round_and_sees_rounds_and_models(
    text_job, manager_client, labeler, django_capture_on_commit_callbacks
):
    job = text_job(400)
    url = reverse("api-auto-labeling", args=[job.pk])
    assert manager_client.get(url).status_code == 404
    response = manager_client.post(
        url,
        {"target_accuracy": 0.95, "validation_size": 100, "round_every": 500,
         "min_training_labels": 20, "strategy": "entropy"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["enabled"] and body["auto_labeling_allowed"] and body["strategy"] == "entropy"
    assert body["counts"]["held_out"] == 100
    humans_label(job, labeler, 180)
    with django_capture_on_commit_callbacks(execute=True):
        queued = manager_client.post(reverse("api-auto-labeling-rounds", args=[job.pk]))
    assert queued.status_code == 202 and queued.json()["number"] == 1
    rounds = manager_client.get(reverse("api-auto-labeling-rounds", args=[job.pk])).json()
    assert rounds[0]["status"] == "done" and rounds[0]["model_version"] == 1
    models = manager_client.get(reverse("api-auto-labeling-models", args=[job.pk])).json()
    assert models[0]["version"] == 1 and models[0]["training_size"] == 80
    assert models[0]["training_seconds"] > 0 and "validation_accuracy" in models[0]["metrics"]
    off = manager_client.post(reverse("api-auto-labeling-off", args=[job.pk]))
    assert off.status_code == 200 and off.json()["enabled"] is False


@pytest.mark.django_db
def test_labelers_may_not_touch_it_and_bad_settings_are_refused(text_job, manager_client, labeler):
    job = text_job(50)
    url = reverse("api-auto-labeling", args=[job.pk])
    labeler_client = client_for(labeler)
    assert labeler_client.get(url).status_code == 403
    assert labeler_client.post(url, {}, format="json").status_code == 403
    refused = manager_client.post(url, {"target_accuracy": 1.5}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"]
    manager_client.post(url, {"validation_size": 10}, format="json")
    audit = manager_client.post(
        reverse("api-auto-labeling-audits", args=[job.pk]), {"sample_size": 5}, format="json"
    )
    assert audit.status_code == 409
    assert audit.json()["error"]["code"] == "nothing_to_audit"


@pytest.mark.django_db
def test_the_console_page_charts_the_rounds(text_job, manager, labeler, client):
    job = text_job(300)
    auto_labeling_enable(job=job, by=manager, seed=1, validation_size=90, min_training_labels=20)
    humans_label(job, labeler, 140)
    for _ in range(2):
        round_run(round_id=round_request(job_id=job.pk, trigger="manual").pk)
    client.force_login(manager)
    page = client.get(reverse("console-job-auto-labeling", args=[job.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="al-chart"' in html and 'id="al-line-accuracy"' in html
    assert html.count("<tr><td>") >= 2
    client.force_login(labeler)
    assert client.get(reverse("console-job-auto-labeling", args=[job.pk])).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", ["margin_diverse", "margin_mix"])
def test_the_batch_mixing_strategies_are_selectable(text_job, manager_client, strategy):
    job = text_job(50)
    url = reverse("api-auto-labeling", args=[job.pk])
    response = manager_client.post(url, {"strategy": strategy}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["strategy"] == strategy
    assert AutoLabelingForm(data={"target_accuracy": 0.95, "strategy": strategy,
                                  "validation_size": 10, "round_every": 5}).is_valid()  # fmt: skip
