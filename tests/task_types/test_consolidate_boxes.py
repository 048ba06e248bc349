"""Box consolidation with known answers, without a database."""

import numpy as np
import pytest

from labeling.consolidation.boxes import consolidate_boxes, mean_iou
from labeling.consolidation.matching import box_iou


def test_iou_of_known_boxes():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]])
    assert box_iou(a, b).round(4).tolist() == [[round(50 / 150, 4), 0.0, 1.0]]


def test_three_workers_two_objects_averaged_with_shares():
    workers = [
        np.array([[10, 10, 100, 50], [200, 100, 40, 40]]),
        np.array([[12, 8, 98, 54], [205, 100, 40, 40]]),
        np.array([[8, 12, 102, 46]]),  # missed the second object
    ]
    classes = [np.array([0, 1]), np.array([0, 1]), np.array([0])]
    result = consolidate_boxes(workers, classes, 2)
    assert result.boxes.tolist() == [[10.0, 10.0, 100.0, 50.0], [202.5, 100.0, 40.0, 40.0]]
    assert result.classes.tolist() == [0, 1]
    assert result.confidences.round(4).tolist() == [1.0, round(2 / 3, 4)]


def test_a_box_only_one_of_three_drew_is_dropped():
    workers = [np.array([[0, 0, 10, 10]]), np.zeros((0, 4)), np.zeros((0, 4))]
    result = consolidate_boxes(workers, [np.array([0]), np.zeros(0), np.zeros(0)], 1)
    assert len(result.boxes) == 0


def test_the_class_of_a_box_is_the_majority_of_its_members():
    workers = [np.array([[0, 0, 10, 10]])] * 3
    result = consolidate_boxes(workers, [np.array([1]), np.array([0]), np.array([1])], 2)
    assert result.classes.tolist() == [1] and result.confidences.tolist() == [1.0]


def test_hungarian_matching_keeps_neighbours_apart():
    # Two adjacent objects; the second worker lists them in the other order.
    first = np.array([[0, 0, 10, 10], [8, 0, 10, 10]])
    second = np.array([[8, 0, 10, 10], [0, 0, 10, 10]])
    result = consolidate_boxes([first, second], [np.array([0, 0]), np.array([0, 0])], 1)
    assert result.boxes.tolist() == [[0, 0, 10, 10], [8, 0, 10, 10]]
    assert result.confidences.tolist() == [1.0, 1.0]


def test_no_workers_no_boxes():
    assert len(consolidate_boxes([], [], 3).boxes) == 0


@pytest.mark.parametrize(
    ("predicted", "truth", "expected"),
    [
        ([[0, 0, 10, 10]], [[0, 0, 10, 10]], 1.0),
        ([[0, 0, 10, 10]], [[5, 0, 10, 10]], 50 / 150),
        ([], [[0, 0, 1, 1]], 0.0),
        ([[0, 0, 10, 10], [50, 50, 5, 5]], [[0, 0, 10, 10]], 0.5),  # a false box costs
    ],
)
def test_mean_iou_the_automated_labeling_metric(predicted, truth, expected):
    assert mean_iou(np.array(predicted), np.array(truth)) == pytest.approx(expected)
