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
