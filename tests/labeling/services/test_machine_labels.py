"""A model's labels are checked by the job's task type before they are stored: one that the
task type refuses is left out (and logged), the others are written."""

import logging

import pytest

from labeling.models import ConsolidatedLabel, Item
from labeling.services.machine_labels import MachineLabel, items_label_by_model
from tests.task_types.helpers import image_job, write_image

pytestmark = pytest.mark.django_db


def test_a_model_label_outside_the_label_set_or_misshapen_is_left_out(make_job, caplog):
    job = make_job(items=4)
    good, unknown, mismatched, not_an_object = Item.objects.filter(job=job).order_by("id")
    labels = [
        MachineLabel(good.pk, "dog", {"label": "dog", "class_id": 1}, 0.9),
        MachineLabel(unknown.pk, "wolf", {"label": "wolf", "class_id": 3}, 0.9),
        MachineLabel(mismatched.pk, "dog", {"label": "dog", "class_id": 0}, 0.9),
        MachineLabel(not_an_object.pk, "dog", ["dog"], 0.9),
    ]
    with caplog.at_level(logging.WARNING, logger="labeling.services.machine_labels"):
        labeled = items_label_by_model(job_id=job.pk, labels=labels, method="model-v1")
    assert labeled == [good.pk]
    assert list(ConsolidatedLabel.objects.filter(job=job).values_list("item_id", "label")) == [
        (good.pk, "dog")
    ]
    assert "'wolf' is not one of the job's labels" in caplog.text
    assert f"item={mismatched.pk}" in caplog.text and f"item={not_an_object.pk}" in caplog.text
    assert Item.objects.filter(job=job, status="open").count() == 3


def test_a_multilabel_model_label_is_checked_against_the_label_set(make_job):
    job = make_job(items=2, task_type="text-classification-multilabel", labels=["a", "b", "c"])
    good, bad = Item.objects.filter(job=job).order_by("id")
    labels = [
        MachineLabel(good.pk, "a,c", {"labels": ["a", "c"], "class_ids": [0, 2]}, 0.8),
        MachineLabel(bad.pk, "a,z", {"labels": ["a", "z"], "class_ids": [0, 25]}, 0.8),
    ]
    assert items_label_by_model(job_id=job.pk, labels=labels, method="model-v1") == [good.pk]


def test_a_class_is_not_a_model_label_of_a_box_job(settings, manager, team):
    write_image(settings.MEDIA_ROOT, "street.png")
    job = image_job(
        manager, team, task_type="image-bounding-box", labels=["car"],
        lines=[{"source-ref": "street.png"}],
    )  # fmt: skip
    item = Item.objects.get(job=job)
    machine = MachineLabel(item.pk, "car", {"label": "car", "class_id": 0}, 0.9)
    assert items_label_by_model(job_id=job.pk, labels=[machine], method="model-v1") == []
    assert not ConsolidatedLabel.objects.filter(item=item).exists()


def test_a_verification_model_label_must_hold_what_its_consolidation_writes(
    settings, manager, team
):
    write_image(settings.MEDIA_ROOT, "pets.png")
    line = {"source-ref": "pets.png", "animal": 0, "animal-metadata": {"class-name": "cat"}}
    job = image_job(
        manager, team, task_type="image-label-verification", labels=["Correct", "Incorrect"],
        lines=[line, line],
    )  # fmt: skip
    bare, whole = Item.objects.filter(job=job).order_by("id")
    labels = [
        MachineLabel(bare.pk, "Correct", {"label": "Correct", "class_id": 0}, 0.9),
        MachineLabel(whole.pk, "Correct", {"label": "Correct", "class_id": 0, "feedback": []}, 0.9),
    ]
    assert items_label_by_model(job_id=job.pk, labels=labels, method="model-v1") == [whole.pk]
