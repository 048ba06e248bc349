"""Answer similarity per kind of answer: identical, shifted, empty, mislabelled, partial."""

import math

import numpy as np
import pytest

from labeling.consolidation import similarity as sim
from labeling.consolidation.tracks import interpolate


def test_boxes_identical_shifted_empty_and_wrong_label():
    boxes = np.array([[10, 10, 100, 50], [300, 200, 40, 40]])
    assert sim.boxes_match(boxes, ["car", "tree"], boxes, ["car", "tree"]).score == 1.0
    # One box shifted by half its width: IoU 50 / 150 = 1/3; the other exact.
    shifted = boxes + np.array([[50, 0, 0, 0], [0, 0, 0, 0]])
    match = sim.boxes_match(boxes, ["car", "tree"], shifted, ["car", "tree"])
    assert match.score == pytest.approx((1 / 3 + 1) / 2)
    assert sorted(match.matched.tolist()) == pytest.approx([1 / 3, 1.0])
    assert sim.boxes_match(boxes, ["car", "tree"], np.zeros((0, 4)), []).score == 0.0
    assert sim.boxes_match(np.zeros((0, 4)), [], np.zeros((0, 4)), []).score == 1.0
    # A wrong label is as good as a missed box: only the tree matches.
    assert sim.boxes_match(boxes, ["car", "tree"], boxes, ["tree", "tree"]).score == 0.5


def test_boxes_extra_box_costs_one_share_and_matching_is_one_to_one():
    one = np.array([[0, 0, 10, 10]])
    two = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    match = sim.boxes_match(one, ["a"], two, ["a", "a"])
    assert match.score == 0.5
    assert len(match.pairs) == 1
    assert sim.boxes_match(two, ["a", "a"], one, ["a"]).score == 0.5  # symmetric


def test_hungarian_beats_greedy_assignment():
    # Greedy would pair a0 with b0 (IoU 0.6) and leave a1 with nothing; the optimum pairs
    # a0-b1 and a1-b0.
    scores = np.array([[0.6, 0.5], [0.55, 0.0]])
    match = sim.match_objects(scores, ["x", "x"], ["x", "x"])
    assert match.score == pytest.approx((0.5 + 0.55) / 2)


def test_polygon_iou_of_squares():
    square = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], dtype=float)
    assert sim.polygon_iou(square, square) == pytest.approx(1.0)
    half = square + np.array([50, 0])
    assert sim.polygon_iou(square, half) == pytest.approx(1 / 3, abs=0.02)
    far = square + np.array([500, 0])
    assert sim.polygon_iou(square, far) == 0.0
    match = sim.polygons_match([square], ["roof"], [half], ["roof"])
    assert match.score == pytest.approx(1 / 3, abs=0.02)
    assert sim.polygons_match([square], ["roof"], [square], ["door"]).score == 0.0


def test_keypoints_closeness_is_oks_like_on_the_image_diagonal():
    sigma = sim.keypoint_sigma(300, 400)  # diagonal 500 -> sigma 12.5 px
    assert sigma == pytest.approx(12.5)
    points = np.array([[100, 100], [200, 200]])
    assert (
        sim.keypoints_match(points, ["eye", "nose"], points, ["eye", "nose"], sigma=sigma).score
        == 1.0
    )
    moved = points + np.array([[12.5, 0], [0, 0]])
    match = sim.keypoints_match(points, ["eye", "nose"], moved, ["eye", "nose"], sigma=sigma)
    assert match.score == pytest.approx((math.exp(-0.5) + 1) / 2)
    far = points + np.array([[50, 0], [0, 0]])  # 4 sigma: no credit, no match
    assert (
        sim.keypoints_match(points, ["eye", "nose"], far, ["eye", "nose"], sigma=sigma).score == 0.5
    )


def test_polylines_either_direction_and_shift():
    line = np.array([[0, 0], [100, 0]], dtype=float)
    sigma = 10.0
    assert sim.polylines_match([line], ["lane"], [line[::-1]], ["lane"], sigma=sigma).score == 1.0
    shifted = line + np.array([0, 10])
    assert sim.polylines_match([line], ["lane"], [shifted], ["lane"], sigma=sigma).score == (
        pytest.approx(math.exp(-0.5))
    )


def test_spans_soft_f1():
    truth = [[0, 10, 0], [20, 30, 1]]
    assert sim.spans_match(truth, truth).score == 1.0
    # One span exact, the other shifted by 5 (Jaccard 5/15): F1 = 2 (1 + 1/3) / 4.
    shifted = [[0, 10, 0], [25, 35, 1]]
    assert sim.spans_match(truth, shifted).score == pytest.approx(2 * (1 + 1 / 3) / 4)
    # Half the spans: precision 1, recall 0.5 -> F1 2/3.
    assert sim.spans_match(truth, [[0, 10, 0]]).score == pytest.approx(2 / 3)
    assert sim.spans_match(truth, [[0, 10, 1], [20, 30, 0]]).score == 0.0  # types swapped
    assert sim.spans_match([], []).score == 1.0
    assert sim.spans_match(truth, []).score == 0.0


def test_label_maps_mean_class_iou():
    a = np.zeros((10, 10), dtype=np.uint8)
    a[:5, :] = 1
    b = a.copy()
    assert sim.label_map_similarity(a, b, 2) == 1.0
    b[:5, 5:] = 2  # class 1 keeps half, class 2 appears only in b
    assert sim.label_map_similarity(a, b, 2) == pytest.approx((0.5 + 0.0) / 2)
    assert sim.per_class_iou(a, b, 3)[0] == pytest.approx(0.5)
    assert np.isnan(sim.per_class_iou(a, b, 3)[2])
    empty = np.zeros((10, 10), dtype=np.uint8)
    assert sim.label_map_similarity(empty, empty, 2) == 1.0
    assert sim.label_map_similarity(a, np.zeros((5, 5), dtype=np.uint8), 2) == 0.0


def test_tracks_match_over_frames():
    track = interpolate({0: np.array([0, 0, 10, 10]), 9: np.array([90, 0, 10, 10])}, 10)
    assert sim.tracks_match([track], ["car"], [track], ["car"]).score == pytest.approx(1.0)
    # The same object only in the first half of the clip: half the frames.
    half = track.copy()
    half[5:] = np.nan
    assert sim.tracks_match([track], ["car"], [half], ["car"]).score == pytest.approx(0.5)
    assert sim.tracks_match([track], ["car"], [], []).score == 0.0


def test_frames_boxes_similarity():
    box = (np.array([[0, 0, 10, 10]]), ["a"])
    empty = (np.zeros((0, 4)), [])
    assert sim.frames_boxes_similarity({0: box, 1: box}, {0: box, 1: box}) == 1.0
    assert sim.frames_boxes_similarity({0: box, 1: box}, {0: box}) == 0.5
    assert sim.frames_boxes_similarity({0: empty}, {}) == 1.0


def test_label_map_similarity_is_the_consolidations_mask_iou():
    from labeling.consolidation.masks import mask_iou

    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, (30, 40)).astype(np.uint8)
        b = np.where(rng.random((30, 40)) < 0.3, rng.integers(0, 4, (30, 40)), a).astype(np.uint8)
        assert sim.label_map_similarity(a, b, 3) == pytest.approx(mask_iou(a, b, 3))
