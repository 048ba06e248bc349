"""Every drawing and span type compares answers (parsed or consolidated, in any mix)."""

import numpy as np
import pytest

from labeling.consolidation.masks import mask_iou
from labeling.task_types import get_task_type
from labeling.task_types.base import answers_compared
from tests.task_types.helpers import boxes_answer
from tests.task_types.test_semantic_segmentation import answer_of, sky_over_road

SIZE = {"width": 320, "height": 200}
COMPARED = (
    "image-bounding-box",
    "image-bounding-box-adjustment",
    "image-polygon",
    "image-keypoint",
    "image-polyline",
    "image-line",
    "image-semantic-segmentation",
    "text-entity-recognition",
    "text-entity-recognition-overlapping",
    "video-object-tracking",
    "video-object-detection",
)


@pytest.mark.parametrize("key", COMPARED)
def test_drawing_and_span_types_compare_answers(key):
    assert answers_compared(get_task_type(key))


@pytest.mark.parametrize(
    "key", ["text-classification", "image-classification", "video-classification"]
)
def test_classification_is_not_compared_this_way(key):
    assert not answers_compared(get_task_type(key))


def _check_perfect_shifted_empty(key, labels, truth, shifted, empty, shifted_score, **kw):
    task_type = get_task_type(key)
    truth = task_type.parse_answer(truth, labels).answer
    shifted = task_type.parse_answer(shifted, labels).answer
    empty = task_type.parse_answer(empty, labels).answer
    compare = task_type.answer_similarity
    assert compare(truth, truth, labels, **kw) == pytest.approx(1.0)
    assert compare(truth, shifted, labels, **kw) == pytest.approx(shifted_score, abs=0.02)
    assert compare(shifted, truth, labels, **kw) == pytest.approx(shifted_score, abs=0.02)
    assert compare(truth, empty, labels, **kw) == 0.0
    assert compare(empty, empty, labels, **kw) == 1.0
    # A worker's answer against the consolidated value of good answers: the same measure.
    value = task_type.consolidate_answers(
        [truth, truth, shifted], labels, item_data=kw.get("item_data")
    ).value
    assert compare(truth, value, labels, **kw) == pytest.approx(compare(value, truth, labels, **kw))
    assert compare(truth, value, labels, **kw) > 0.6
    return task_type, truth, value


@pytest.mark.parametrize("key", ["image-bounding-box", "image-bounding-box-adjustment"])
def test_boxes(key):
    labels = ["car", "tree"]
    truth = boxes_answer(("car", 10, 10, 100, 50), ("tree", 200, 100, 40, 40))
    shifted = boxes_answer(("car", 60, 10, 100, 50), ("tree", 200, 100, 40, 40))
    _check_perfect_shifted_empty(key, labels, truth, shifted, boxes_answer(), (1 / 3 + 1) / 2)


def test_polygons():
    labels = ["roof"]

    def polygons(*squares):
        return {
            "annotatedResult": {
                "polygons": [
                    {
                        "label": "roof",
                        "vertices": [
                            {"x": x, "y": y},
                            {"x": x + 100, "y": y},
                            {"x": x + 100, "y": y + 100},
                            {"x": x, "y": y + 100},
                        ],
                    }
                    for x, y in squares
                ],
                "inputImageProperties": SIZE,
            }
        }

    _check_perfect_shifted_empty(
        "image-polygon", labels, polygons((10, 10)), polygons((60, 10)), polygons(), 1 / 3
    )


def test_keypoints():
    labels = ["eye", "nose"]
    sigma = 0.025 * np.hypot(320, 200)

    def points(*pts):
        return {
            "annotatedResult": {
                "keypoints": [{"label": label, "x": x, "y": y} for label, x, y in pts],
                "inputImageProperties": SIZE,
            }
        }

    truth = points(("eye", 100, 100), ("nose", 150, 120))
    shifted = points(("eye", 100 + sigma, 100), ("nose", 150, 120))
    _check_perfect_shifted_empty(
        "image-keypoint", labels, truth, shifted, points(), (np.exp(-0.5) + 1) / 2
    )


def test_lines():
    labels = ["lane"]
    sigma = 0.025 * np.hypot(320, 200)

    def lines(dy):
        drawn = (
            []
            if dy is None
            else [
                {"label": "lane", "vertices": [{"x": 10, "y": 50 + dy}, {"x": 300, "y": 50 + dy}]}
            ]
        )
        return {"crowdLine": {"lines": drawn, "inputImageProperties": SIZE}}

    _check_perfect_shifted_empty(
        "image-line", labels, lines(0), lines(round(sigma, 2)), lines(None), np.exp(-0.5)
    )


def test_entities():
    labels = ["PER", "ORG"]
    text = {"source": "Ada Lovelace met Charles Babbage at the Royal Society in London."}

    def spans(*rows):
        return {
            "entities": [{"label": label, "startOffset": s, "endOffset": e} for label, s, e in rows]
        }

    truth = spans(("PER", 0, 12), ("PER", 17, 32))
    shifted = spans(("PER", 0, 12), ("PER", 25, 32))  # "Babbage" of "Charles Babbage"
    for key in ("text-entity-recognition", "text-entity-recognition-overlapping"):
        _check_perfect_shifted_empty(
            key, labels, truth, shifted, spans(), 2 * (1 + 7 / 15) / 4, item_data=text
        )


def test_semantic_segmentation():
    labels = ["sky", "road"]
    empty = np.zeros((30, 40), dtype=np.uint8)
    _check_perfect_shifted_empty(
        "image-semantic-segmentation",
        labels,
        answer_of(sky_over_road(15)),
        answer_of(sky_over_road(10)),
        answer_of(empty),
        mask_iou(sky_over_road(15), sky_over_road(10), 2),
    )


def test_video_tracks():
    labels = ["car"]

    def tracks(dx):
        drawn = (
            []
            if dx is None
            else [
                {
                    "objectId": 1,
                    "label": "car",
                    "keyframes": [
                        {"frame": 0, "left": 10 + dx, "top": 10, "width": 40, "height": 40},
                        {"frame": 9, "left": 200 + dx, "top": 10, "width": 40, "height": 40},
                    ],
                }
            ]
        )
        return {
            "annotatedResult": {"tracks": drawn, "frameCount": 10, "inputImageProperties": SIZE}
        }

    # Shifted by half the box's width in every frame: IoU 1/3 throughout.
    _check_perfect_shifted_empty(
        "video-object-tracking", labels, tracks(0), tracks(20), tracks(None), 1 / 3
    )


def test_video_detection():
    labels = ["car"]

    def frames(dx, frame_numbers=(0, 1)):
        return {
            "annotatedResult": {
                "frames": [
                    {
                        "frame": n,
                        "boundingBoxes": [
                            {"label": "car", "left": 10 + dx, "top": 10, "width": 40, "height": 40}
                        ],
                    }
                    for n in frame_numbers
                ],
                "frameCount": 5,
                "inputImageProperties": SIZE,
            }
        }

    _check_perfect_shifted_empty(
        "video-object-detection", labels, frames(0), frames(20), frames(0, ()), 1 / 3
    )
