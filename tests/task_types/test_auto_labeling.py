"""The hooks automated labeling uses for boxes and masks: mean IoU against the thresholds."""

import numpy as np
import pytest

from labeling.task_types.auto_labeling import auto_labeling_target


def box(class_id, left, top, width=10, height=10):
    return {"class_id": class_id, "left": left, "top": top, "width": width, "height": height}


def test_box_target_is_mean_iou_at_0_6():
    target = auto_labeling_target("image-bounding-box")
    assert (target.metric, target.threshold) == ("mean-iou", 0.6)
    truth = {"boxes": [box(0, 0, 0), box(1, 50, 50)]}
    assert target.score(truth, truth) == 1.0
    shifted = {"boxes": [box(0, 2, 0), box(1, 50, 52)]}
    assert target.score(shifted, truth) == pytest.approx(80 / 120)
    assert target.passes(shifted, truth)
    wrong_class = {"boxes": [box(1, 0, 0), box(1, 50, 50)]}
    assert target.score(wrong_class, truth) == pytest.approx(0.5)
    assert not target.passes(wrong_class, truth)


def test_a_prediction_becomes_a_box_label_value():
    target = auto_labeling_target("image-bounding-box")
    value = target.value_from_prediction(
        boxes=np.array([[1.2, 2.6, 30.4, 40.5]]),
        classes=np.array([1]),
        scores=np.array([0.91]),
        labels=["car", "person"],
        image_size={"width": 100, "height": 80},
    )
    assert value["boxes"] == [
        {
            "label": "person",
            "class_id": 1,
            "left": 1,
            "top": 3,
            "width": 30,
            "height": 40,
            "confidence": 0.91,
        }
    ]


@pytest.mark.django_db
def test_mask_target_is_mean_iou_at_0_7(settings):
    target = auto_labeling_target("image-semantic-segmentation")
    assert (target.metric, target.threshold) == ("mean-iou", 0.7)
    truth = np.zeros((10, 10), dtype=np.uint8)
    truth[:5] = 1
    predicted = truth.copy()
    predicted[5] = 1  # one row too many: IoU 50/60
    value = target.value_from_prediction(index_map=predicted, confidence=0.8, labels=["sky"])
    assert (settings.MEDIA_ROOT / value["index_ref"]).is_file()
    human = {"index_map": truth, "color_map": {"sky": "#4363d8"}}
    assert target.score(value, human) == pytest.approx(50 / 60)
    assert target.passes(value, human)
    assert auto_labeling_target("text-classification") is None


@pytest.mark.django_db
def test_model_values_are_checked_before_they_are_stored(settings):
    boxes = auto_labeling_target("image-bounding-box")
    good = boxes.value_from_prediction(
        boxes=np.array([[2.0, 3.0, 10.0, 8.0]]),
        classes=np.array([1]),
        scores=np.array([0.9]),
        labels=["car", "person"],
        image_size={"width": 20, "height": 20},
    )
    assert boxes.value_problem(good, ["car", "person"]) == ""
    wrong_class = {**good, "boxes": [{**good["boxes"][0], "class_id": 5}]}
    assert "class_id" in boxes.value_problem(wrong_class, ["car", "person"])
    outside = {**good, "boxes": [{**good["boxes"][0], "left": 15}]}
    assert "outside" in boxes.value_problem(outside, ["car", "person"])
    assert "image_size" in boxes.value_problem({"boxes": []}, ["car"])
    masks = auto_labeling_target("image-semantic-segmentation")
    value = masks.value_from_prediction(
        index_map=np.zeros((4, 4), np.uint8), confidence=0.5, labels=["sky"]
    )
    assert masks.value_problem(value, ["sky"]) == ""
    assert "ref" in masks.value_problem({**value, "ref": "../secret.png"}, ["sky"])
    assert "color_map" in masks.value_problem({**value, "color_map": {}}, ["sky"])
