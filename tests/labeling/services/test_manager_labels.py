"""A manager's label (the review queue's final label, a gold item's known answer) is checked
by the job's task type like a worker's answer: refused with the reason over the API and in
the console when the task type's answer is not one class, or the class is not the job's."""

import pytest
from django.test import Client

from labeling.errors import ValidationFailed
from labeling.models import ConsolidatedLabel, GoldItem, Item
from labeling.quality.services.gold import gold_item_mark, gold_items_add
from labeling.quality.services.reliability import consolidated_label_set_final
from tests.conftest import client_for
from tests.task_types.helpers import export, image_job, manifest, work, write_image

pytestmark = pytest.mark.django_db

BOX_LABELS = ["car", "person"]
BOXES = {
    "annotatedResult": {
        "boundingBoxes": [{"label": "car", "left": 1, "top": 2, "width": 50, "height": 40}],
        "inputImageProperties": {"width": 320, "height": 200},
    }
}


@pytest.fixture
def box_job(settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "street.png")
    job = image_job(
        manager,
        team,
        task_type="image-bounding-box",
        labels=BOX_LABELS,
        lines=[{"source-ref": "street.png"}],
    )
    work(job, [labeler], [[BOXES]])
    return job


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_final_class_on_a_box_job_is_refused_over_the_api_and_every_export_still_works(
    box_job, manager, manager_client
):
    item = Item.objects.get(job=box_job)
    before = ConsolidatedLabel.objects.get(item=item).value
    response = manager_client.post(
        f"/api/v1/jobs/{box_job.pk}/items/{item.pk}/final-label", {"label": "car"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "answer_not_one_class"
    assert "image-bounding-box" in error["message"] and "not one class" in error["message"]
    assert error["details"]["task_type"] == "image-bounding-box"
    assert ConsolidatedLabel.objects.get(item=item).value == before
    for fmt in ("manifest", "csv", "coco", "voc", "yolo"):
        assert export(box_job, manager, fmt)


def test_a_final_label_on_an_entity_job_is_refused(make_job):
    job = make_job(items=1, task_type="text-entity-recognition", labels=["PER", "ORG"])
    item = Item.objects.get(job=job)
    with pytest.raises(ValidationFailed, match="not one class") as refused:
        consolidated_label_set_final(job=job, item_id=item.pk, label="PER")
    assert refused.value.code == "answer_not_one_class"
    assert not ConsolidatedLabel.objects.filter(item=item).exists()


def test_a_final_label_outside_the_label_set_is_refused_with_the_labels(make_job):
    job = make_job(items=1)
    item = Item.objects.get(job=job)
    with pytest.raises(ValidationFailed, match="'wolf' is not one of the job's labels"):
        consolidated_label_set_final(job=job, item_id=item.pk, label="wolf")
    assert not ConsolidatedLabel.objects.filter(item=item).exists()


def test_a_final_label_of_a_verification_job_is_shaped_like_its_consolidated_labels(
    settings, manager, team
):
    write_image(settings.MEDIA_ROOT, "pets.png")
    line = {"source-ref": "pets.png", "animal": 0, "animal-metadata": {"class-name": "cat"}}
    job = image_job(
        manager,
        team,
        task_type="image-label-verification",
        labels=["Correct", "Incorrect"],
        lines=[line],
    )
    item = Item.objects.get(job=job)
    consolidated_label_set_final(job=job, item_id=item.pk, label="Incorrect")
    (exported,) = manifest(job, manager)
    assert exported[job.label_attribute_name] == 1
    metadata = exported[f"{job.label_attribute_name}-metadata"]
    assert metadata["class-name"] == "Incorrect" and metadata["worker-feedback"] == []
    assert metadata["consolidation-method"] == "manual"


def test_the_console_review_of_boxes_fixes_with_boxes_and_refuses_a_class(box_job, manager):
    """Issue 14 replaced the class picker: a box job is reviewed with boxes (a class is not an
    answer of it, and is refused with the reason)."""
    browser = _browser(manager)
    page = browser.get(f"/console/jobs/{box_job.pk}/review")
    assert page.status_code == 200 and 'name="label"' not in page.content.decode()
    item = Item.objects.get(job=box_job)
    before = ConsolidatedLabel.objects.get(item=item).value
    refused = client_for(manager).post(
        f"/api/v1/jobs/{box_job.pk}/items/{item.pk}/review",
        {"action": "fix", "answer": {"label": "car"}},
        format="json",
    )
    assert refused.status_code == 400 and "annotatedResult" in refused.json()["error"]["message"]
    assert ConsolidatedLabel.objects.get(item=item).value == before


def test_gold_labels_of_a_box_job_are_refused(box_job, manager_client):
    """A class is not an answer of a box job: its gold takes whole answers (issue 19)."""
    item = Item.objects.get(job=box_job)
    with pytest.raises(ValidationFailed, match="not one class"):
        gold_item_mark(job=box_job, item_id=item.pk, label="car")
    with pytest.raises(ValidationFailed, match="not one class"):
        gold_items_add(
            job=box_job, entries=[{"data": {"source-ref": "street.png"}, "label": "car"}]
        )
    response = manager_client.post(
        f"/api/v1/jobs/{box_job.pk}/items/{item.pk}/gold", {"label": "car"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "answer_not_one_class"
    assert not GoldItem.objects.filter(job=box_job).exists()
    assert ConsolidatedLabel.objects.get(item=item).method == "boxes-iou"


def test_a_gold_label_outside_the_label_set_is_refused(make_job):
    job = make_job(items=1)
    item = Item.objects.get(job=job)
    with pytest.raises(ValidationFailed, match="'wolf' is not one of the job's labels"):
        gold_item_mark(job=job, item_id=item.pk, label="wolf")
    gold = gold_item_mark(job=job, item_id=item.pk, label="bird")
    assert ConsolidatedLabel.objects.get(item=item).value == {"label": "bird", "class_id": 2}
    assert gold.label == "bird"


def test_the_quality_page_offers_gold_items_where_a_known_answer_can_be_scored(
    box_job, make_job, manager
):
    """A class, or (issue 19) a whole answer of a drawing or span type; not a multi-label one."""
    browser = _browser(manager)
    boxes = browser.get(f"/console/jobs/{box_job.pk}/quality").content.decode()
    assert 'id="gold-lines"' in boxes and '"answer"' in boxes and 'id="no-gold"' not in boxes
    multi = make_job(items=1, task_type="text-classification-multilabel")
    tags = browser.get(f"/console/jobs/{multi.pk}/quality").content.decode()
    assert 'id="gold-lines"' not in tags and 'id="no-gold"' in tags
    classes = browser.get(f"/console/jobs/{make_job(items=1).pk}/quality").content.decode()
    assert 'id="gold-lines"' in classes and 'id="no-gold"' not in classes
