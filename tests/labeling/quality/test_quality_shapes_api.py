"""The quality API and page of a box job: gold per worker, agreement by IoU, permissions."""

import numpy as np
import pytest
from django.test import Client

from labeling.models import GoldItem
from labeling.quality.math.shape_simulation import ShapeWorker, box_answer, box_truth
from labeling.quality.services.reliability import job_quality_configure
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.conftest import client_for, import_lines
from tests.task_types.helpers import write_image

pytestmark = pytest.mark.django_db

LABELS = ["car", "person"]


@pytest.fixture
def box_job(make_job, manager, make_labeler, settings):
    """Four items answered by three workers (two good, one random) and one gold item."""
    rng = np.random.default_rng(2)
    write_image(settings.MEDIA_ROOT, "photo.png", size=(640, 480))
    job = make_job(
        items=0, start=False, task_type="image-bounding-box", labels=LABELS, workers_per_item=3
    )
    truths = box_truth(rng, 5, LABELS)
    client_for(manager).post(
        f"/api/v1/jobs/{job.pk}/gold",
        [{"data": {"source-ref": "photo.png", "gold": 1}, "answer": truths[0].answer()}],
        format="json",
    )
    import_lines(job, manager, [{"source-ref": "photo.png", "n": i} for i in range(4)])
    job.refresh_from_db()
    job_start(job=job, by=manager)
    job_quality_configure(job=job, gold_rate=1.0)
    gold_id = GoldItem.objects.get(job=job).item_id
    crowd = {"good1": ShapeWorker(0.95), "good2": ShapeWorker(0.9), "noise": ShapeWorker(0, True)}
    ids = sorted(job.items.exclude(pk=gold_id).values_list("pk", flat=True))
    truth_of = {gold_id: truths[0], **dict(zip(ids, truths[1:], strict=True))}
    for name, model in crowd.items():
        worker = make_labeler(name)
        while (lease := assignment_claim(job=job, worker=worker)) is not None:
            answer = box_answer(rng, truth_of[lease.item_id], model, LABELS)
            annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)
    return job


def test_the_api_shows_gold_and_agreement_of_a_box_job(box_job, manager):
    response = client_for(manager).get(f"/api/v1/jobs/{box_job.pk}/quality")
    assert response.status_code == 200
    body = response.json()
    workers = {row["username"]: row for row in body["workers"]}
    assert set(workers) == {"good1", "good2", "noise"}
    assert all(row["gold_answers"] == 1 for row in workers.values())
    assert workers["good1"]["gold_mean_score"] > 0.6
    assert workers["noise"]["gold_mean_score"] < 0.3
    shape = body["shape_agreement"]
    assert shape["measure"].startswith("box IoU") and shape["distance"] == "1 − similarity"
    assert shape["items"] == 5 and shape["pairs"] == 15  # the gold item too: three answers
    assert sum(shape["histogram"]) == 15
    assert set(shape["quantiles"]) == {"p10", "p25", "p50", "p75", "p90"}
    by_worker = {row["username"]: row["mean_similarity"] for row in shape["workers"]}
    assert by_worker["noise"] < by_worker["good1"]
    assert len(shape["lowest_items"]) == 5
    assert -1 <= shape["alpha"] <= 1


def test_a_classification_job_has_no_shape_agreement(make_job, manager):
    job = make_job(items=1)
    body = client_for(manager).get(f"/api/v1/jobs/{job.pk}/quality").json()
    assert body["shape_agreement"] is None


def test_the_pass_mark_is_a_quality_setting(box_job, manager):
    client = client_for(manager)
    response = client.patch(
        f"/api/v1/jobs/{box_job.pk}/quality", {"gold_pass_similarity": 0.7}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["settings"]["gold_pass_similarity"] == 0.7
    refused = client.patch(
        f"/api/v1/jobs/{box_job.pk}/quality", {"gold_pass_similarity": 1.5}, format="json"
    )
    assert refused.status_code == 400
    assert "gold_pass_similarity" in refused.content.decode()


def test_a_worker_cannot_read_quality(box_job, make_labeler):
    worker = make_labeler("curious")
    assert client_for(worker).get(f"/api/v1/jobs/{box_job.pk}/quality").status_code == 403
    browser = Client()
    browser.force_login(worker)
    assert browser.get(f"/console/jobs/{box_job.pk}/quality").status_code in (302, 403)


def test_gold_import_refuses_a_bad_answer_naming_it(box_job, manager):
    response = client_for(manager).post(
        f"/api/v1/jobs/{box_job.pk}/gold",
        [{"data": {"source-ref": "photo.png"}, "answer": {"annotatedResult": {}}}],
        format="json",
    )
    assert response.status_code == 400
    assert "gold item 1: answer:" in response.json()["error"]["message"]


def test_the_page_shows_agreement_gold_and_links_to_items(box_job, manager):
    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"/console/jobs/{box_job.pk}/quality")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="shape-agreement"' in html and "box IoU" in html
    assert 'id="quality-charts"' not in html  # classification's alpha/kappa charts
    assert "1 − similarity" in html
    assert 'id="shape-lowest"' in html
    lowest = page.context["shape"]["lowest_items"][0]["item_id"]
    assert f"/console/jobs/{box_job.pk}/items/{lowest}" in html
    assert 'class="muted gold-mean"' in html
    assert 'id="gold_pass_similarity"' in html
    saved = browser.post(
        f"/console/jobs/{box_job.pk}/quality/settings",
        {"gold_rate": "1", "gold_min_answers": "5", "gold_pass_similarity": "0.6"},
    )
    assert saved.status_code == 302
    box_job.refresh_from_db()
    assert box_job.gold_pass_similarity == 0.6
