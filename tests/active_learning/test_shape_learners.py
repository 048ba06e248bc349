"""The box detector and the mask segmenter on rendered shapes whose right answer is known:
they learn, and their per-item score ranks the good answers first. Training is tiny here
(32-pixel images, a few thousand samples seen); the bench trains the real sizes."""

import numpy as np
import pytest

from active_learning.learners.detector import SmallDetector
from active_learning.learners.segmenter import SmallSegmenter, expected_iou_score
from active_learning.synthetic_shapes import render_shapes
from labeling.consolidation.boxes import mean_iou
from labeling.consolidation.masks import mask_iou

SIZE = 32


def _images(count: int, seed: int, classes: int = 2):
    rng = np.random.default_rng(seed)
    return [
        render_shapes(rng, size=SIZE, most=2, noise=25.0, classes=classes) for _ in range(count)
    ]


def _rows(image) -> np.ndarray:
    rows = [[c, x / SIZE, y / SIZE, w / SIZE, h / SIZE] for c, x, y, w, h in image.boxes]
    return np.asarray(rows, np.float64).reshape(-1, 5)


def test_the_detector_learns_boxes_and_its_score_ranks_them(settings):
    settings.ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN = 8000
    images = _images(300, seed=0)
    pixels = np.stack([image.pixels for image in images])
    detector = SmallDetector(size=SIZE, width=8)
    detector.fit(pixels[:200], [_rows(image) for image in images[:200]], 2, lambda: None)
    predictions = detector.predict(pixels[200:])
    ious = np.array(
        [
            mean_iou(p.boxes, _rows(image)[:, 1:])
            for p, image in zip(predictions, images[200:], strict=True)
        ]
    )
    scores = np.array([p.score for p in predictions])
    assert ious.mean() > 0.5
    top = ious[np.argsort(-scores)[:50]]
    assert top.mean() > ious.mean()
    assert ((scores >= 0) & (scores <= 1)).all()
    again = SmallDetector(size=SIZE, width=8)
    again.fit(pixels[:200], [_rows(image) for image in images[:200]], 2, lambda: None)
    assert [p.score for p in again.predict(pixels[200:210])] == pytest.approx(scores[:10])


def test_the_segmenter_learns_masks_and_its_score_ranks_them(settings):
    settings.ACTIVE_LEARNING_SHAPES_SAMPLES_SEEN = 5000
    images = _images(300, seed=1, classes=1)
    pixels = np.stack([image.pixels for image in images])
    maps = np.stack([image.label_map for image in images])
    segmenter = SmallSegmenter(size=SIZE, width=8)
    segmenter.fit(pixels[:200], maps[:200], 1, lambda: None)
    predictions = segmenter.predict(pixels[200:], [(64, 64)] * 100)
    assert predictions[0].label_map.shape == (64, 64)  # each image's own size
    small = segmenter.predict(pixels[200:])
    ious = np.array([mask_iou(p.label_map, m, 1) for p, m in zip(small, maps[200:], strict=True)])
    scores = np.array([p.score for p in small])
    assert ious.mean() > 0.5
    assert ious[np.argsort(-scores)[:50]].mean() > ious.mean()


def test_the_expected_iou_score_of_a_sure_answer_is_one_and_doubt_lowers_it():
    sure = np.zeros((3, 4, 4))
    sure[0] = 1.0
    sure[1, :2], sure[0, :2] = 1.0, 0.0
    label_map = sure.argmax(0)
    assert expected_iou_score(sure, label_map) == pytest.approx(1.0)
    doubtful = sure.copy()
    doubtful[2, 2:], doubtful[0, 2:] = 0.4, 0.6  # class 2 might be in the lower half
    assert expected_iou_score(doubtful, doubtful.argmax(0)) == pytest.approx(0.6)
