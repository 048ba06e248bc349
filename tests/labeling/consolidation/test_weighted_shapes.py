"""Weighted consolidation of drawings and spans (issue 19): weights decide what is kept and
pull the geometry; equal weights change nothing; a crowd with spammers is consolidated closer
to the truth with the reliabilities than without."""

import numpy as np
import pytest

from labeling.consolidation.boxes import consolidate_boxes
from labeling.consolidation.keypoints import consolidate_keypoints
from labeling.consolidation.masks import vote_label_maps
from labeling.consolidation.polygons import consolidate_polygons
from labeling.consolidation.spans import Span, consolidate_spans
from labeling.consolidation.tracks import consolidate_tracks
from labeling.quality.math.shape_reliability import (
    ItemAnswers,
    leave_one_out_reliability,
    reliability_weights,
)
from labeling.quality.math.shape_simulation import (
    ShapeWorker,
    box_answer,
    box_truth,
    span_answer,
    span_truth,
)
from labeling.task_types import get_task_type

TRUE_BOX = [10.0, 10.0, 40.0, 40.0]
WRONG_BOX = [200.0, 200.0, 30.0, 30.0]
# One reliable worker against two unreliable ones who agree on something else.
RELIABLE_FIRST = np.array([0.81, 0.04, 0.04])


def _boxes(*rows):
    return np.array(rows, dtype=float).reshape(-1, 4)


def test_boxes_keep_what_the_weight_of_workers_drew():
    drawn = [_boxes(TRUE_BOX), _boxes(WRONG_BOX), _boxes(WRONG_BOX)]
    classes = [np.array([0])] * 3
    plain = consolidate_boxes(drawn, classes, 1)
    assert plain.boxes.tolist() == [WRONG_BOX]
    weighted = consolidate_boxes(drawn, classes, 1, weights=RELIABLE_FIRST)
    assert weighted.boxes.tolist() == [pytest.approx(TRUE_BOX)]
    assert weighted.confidences[0] == pytest.approx(0.81 / 0.89)


def test_box_geometry_and_class_are_weighted():
    drawn = [_boxes([0, 0, 10, 10]), _boxes([2, 0, 10, 10]), _boxes([2, 0, 10, 10])]
    classes = [np.array([1]), np.array([0]), np.array([0])]
    weighted = consolidate_boxes(drawn, classes, 2, weights=np.array([0.9, 0.05, 0.05]))
    assert weighted.boxes[0][0] == pytest.approx(0.2)  # 0.9 x 0 + 0.1 x 2
    assert weighted.classes.tolist() == [1]


def test_spans_keep_what_the_weight_of_workers_marked():
    spans = [Span(0, 5, 0, 0), Span(10, 15, 0, 1), Span(10, 15, 0, 2)]
    plain = consolidate_spans(spans, n_workers=3, n_labels=1)
    assert [(e.start, e.end) for e in plain] == [(10, 15)]
    weighted = consolidate_spans(spans, n_workers=3, n_labels=1, weights=RELIABLE_FIRST)
    assert [(e.start, e.end) for e in weighted] == [(0, 5)]


def test_span_boundaries_follow_the_weight():
    spans = [Span(0, 10, 0, 0), Span(1, 10, 0, 1), Span(1, 10, 0, 2)]
    weighted = consolidate_spans(spans, n_workers=3, n_labels=1, weights=np.array([0.9, 0.1, 0.1]))
    assert (weighted[0].start, weighted[0].end) == (0, 10)


def test_masks_vote_by_weight():
    reliable = np.array([[1, 1], [0, 0]], dtype=np.uint8)
    other = np.array([[0, 0], [1, 1]], dtype=np.uint8)
    voted, _ = vote_label_maps([reliable, other, other], 1, RELIABLE_FIRST)
    assert voted.tolist() == reliable.tolist()
    plain, _ = vote_label_maps([reliable, other, other], 1)
    assert plain.tolist() == other.tolist()


def test_polygons_keypoints_and_tracks_keep_what_the_weight_drew():
    square = np.array([[10, 10], [50, 10], [50, 50], [10, 50]], dtype=float)
    elsewhere = square + 200
    drawn = [[square], [elsewhere], [elsewhere]]
    classes = [[0], [0], [0]]
    kept = consolidate_polygons(drawn, classes, 1, weights=RELIABLE_FIRST)
    assert [p.vertices.tolist() for p in kept] == [square.tolist()]

    points = [np.array([[5.0, 5.0]]), np.array([[90.0, 90.0]]), np.array([[90.0, 90.0]])]
    labels = [np.array([0])] * 3
    kept = consolidate_keypoints(points, labels, 1, radius=10, weights=RELIABLE_FIRST)
    assert [(p.x, p.y) for p in kept] == [pytest.approx((5.0, 5.0))]

    track = np.tile(np.array(TRUE_BOX), (4, 1))
    wrong = np.tile(np.array(WRONG_BOX), (4, 1))
    kept = consolidate_tracks([[track], [wrong], [wrong]], classes, 1, weights=RELIABLE_FIRST)
    assert len(kept) == 1 and np.allclose(kept[0].boxes, track)


def test_equal_weights_change_nothing():
    rng = np.random.default_rng(5)
    for item in box_truth(rng, 20, ["a", "b"]):
        answers = [box_answer(rng, item, ShapeWorker(0.7), ["a", "b"]) for _ in range(4)]
        kind = get_task_type("image-bounding-box")
        plain = kind.consolidate_answers(answers, ["a", "b"])
        equal = kind.consolidate_answers(answers, ["a", "b"], weights=[0.5] * 4)
        assert equal.value == plain.value and equal.confidence == pytest.approx(plain.confidence)


def test_a_near_tie_of_labels_goes_as_plain_voting_breaks_it():
    """One of two equally good workers says b: the first label stands, as without weights,
    whichever estimate came out a little higher; a far more reliable worker still wins."""
    drawn = [_boxes([0, 0, 10, 10]), _boxes([0, 0, 10, 10])]
    classes = [np.array([0]), np.array([1])]
    near = consolidate_boxes(drawn, classes, 2, weights=np.array([0.80, 0.86]))
    assert near.classes.tolist() == consolidate_boxes(drawn, classes, 2).classes.tolist() == [0]
    far = consolidate_boxes(drawn, classes, 2, weights=np.array([0.30, 0.86]))
    assert far.classes.tolist() == [1]
    spans = [Span(0, 5, 0, 0), Span(0, 5, 1, 1)]
    near_spans = consolidate_spans(spans, n_workers=2, n_labels=2, weights=np.array([0.8, 0.86]))
    far_spans = consolidate_spans(spans, n_workers=2, n_labels=2, weights=np.array([0.3, 0.86]))
    assert [e.label for e in near_spans] == [0] and [e.label for e in far_spans] == [1]


def test_equal_weights_keep_the_plain_rule_at_any_overlap():
    """Two of five is not kept by the plain rule, and equal weights keep to it (the weighted
    rule's slack is for weights that differ)."""
    drawn = [_boxes(TRUE_BOX), _boxes(TRUE_BOX), _boxes(), _boxes(), _boxes()]
    classes = [np.array([0])] * 2 + [np.zeros(0, dtype=int)] * 3
    assert len(consolidate_boxes(drawn, classes, 1).boxes) == 0
    assert len(consolidate_boxes(drawn, classes, 1, weights=np.full(5, 0.7)).boxes) == 0
    spans = [Span(0, 5, 0, 0), Span(0, 5, 0, 1)]
    assert consolidate_spans(spans, n_workers=5, n_labels=1, weights=np.full(5, 0.7)) == []


@pytest.mark.parametrize(
    "weights", [[1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [1.0, float("nan"), 1.0]]
)
def test_bad_weights_are_refused(weights):
    drawn = [_boxes(TRUE_BOX)] * 3
    with pytest.raises(ValueError, match="weights"):
        consolidate_boxes(drawn, [np.array([0])] * 3, 1, weights=np.array(weights))


@pytest.mark.parametrize(
    ("key", "truth", "answer", "data"),
    [
        ("image-bounding-box", box_truth, box_answer, lambda item: None),
        ("text-entity-recognition", span_truth, span_answer, lambda item: {"source": item.text}),
    ],
)
def test_weighted_beats_plain_on_a_crowd_with_spammers(key, truth, answer, data):
    """Five answers an item from a crowd of 6 good workers and 4 random ones: the weights
    the re-estimation would store bring the consolidation closer to the truth."""
    rng = np.random.default_rng(11)
    labels = ["a", "b"]
    kind = get_task_type(key)
    workers = [ShapeWorker(0.85)] * 6 + [ShapeWorker(0.0, random=True)] * 4
    items = truth(rng, 90, labels)
    queues = [rng.choice(len(workers), 5, replace=False) for _ in items]
    answers = [
        [answer(rng, item, workers[w], labels) for w in queue]
        for item, queue in zip(items, queues, strict=True)
    ]

    def consolidate(index, given, weights):
        extra = {} if weights is None else {"weights": weights.tolist()}
        return kind.consolidate_answers(given, labels, item_data=data(items[index]), **extra).value

    estimate = leave_one_out_reliability(
        [ItemAnswers(list(queues[i]), answers[i], i) for i in range(30)],
        n_workers=len(workers),
        consolidate=consolidate,
        similarity=lambda _, a, value: kind.answer_similarity(a, value, labels),
    )
    assert estimate.reliability[:6].min() > estimate.reliability[6:].max()

    def accuracy(weighted: bool) -> float:
        scores = []
        for i in range(30, 90):
            weights = reliability_weights(estimate.reliability[queues[i]]) if weighted else None
            value = consolidate(i, answers[i], weights)
            scores.append(kind.answer_similarity(value, items[i].answer(), labels))
        return float(np.mean(scores))

    plain, weighted = accuracy(False), accuracy(True)
    assert weighted > plain + 0.05, (plain, weighted)
