"""How alike two answers of one item are, per kind of answer, as a number in [0, 1].

Pure numpy (and scipy's assignment), no Django: callers pass arrays. 1 means the same
answer; two empty answers are the same (1.0); one empty and one not share nothing (0.0).
Every measure is symmetric in its two answers.

- **Objects** (boxes, polygons, keypoints, polylines, tracks): the objects of the two
  answers are matched one to one, only objects of the same label with each other, to
  maximise the summed pairwise similarity (Hungarian assignment); pairs with no overlap
  are not matched. The score is ``Σ matched similarity / max(n_a, n_b)``, so a missed, an
  extra or a mislabelled object each cost one object's worth.
  Boxes: IoU. Polygons: IoU of their areas rasterised (even-odd rule at cell centres) on a
  grid of ``POLYGON_GRID`` cells a side over the pair (within 0.015 of a 1024-cell grid on
  random octagons).
  Tracks: the track IoU of ``labeling.consolidation.tracks`` (mean per-frame IoU over the
  frames either covers).
- **Keypoints**: matched points' closeness, OKS-like: ``exp(-d² / (2 σ²))`` with
  ``σ = KEYPOINT_SIGMA_SHARE × the image's diagonal`` (the scale is the image, not the
  object: a keypoint answer has no object extent). At 2.5 % of the diagonal a point scores
  0.61, at 5 % (the consolidation's match radius) 0.14. Points score 0 beyond 3 σ.
- **Polylines / lines**: closeness as for keypoints, on the mean distance between the two
  lines' evenly resampled points (either direction).
- **Spans**: a soft F1 over (start, end, label): spans of the same label are matched one to
  one by the Jaccard of their character ranges, a matched pair is credited its Jaccard
  (exact match 1, partial overlap less), and ``F1 = 2 Σ credit / (n_a + n_b)``.
- **Label maps** (semantic segmentation): mean per-class IoU over the classes present in
  either map, background excluded (the measure of ``labeling.consolidation.masks.mask_iou``,
  from one confusion count over the pixels); maps of different sizes score 0.
- **Per-frame boxes** (video detection): box similarity per frame, averaged over the frames
  where either answer has a box.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from labeling.consolidation.matching import box_iou
from labeling.consolidation.polygons import rasterize
from labeling.consolidation.polylines import resample
from labeling.consolidation.spans import jaccard_matrix
from labeling.consolidation.tracks import track_iou

POLYGON_GRID = 64
KEYPOINT_SIGMA_SHARE = 0.025


@dataclass(frozen=True)
class Match:
    """The one-to-one matching of two answers' objects and the score it gives.

    ``pairs`` holds (index in a, index in b, similarity) of the matched objects, in a's
    order; objects of either answer not in a pair were unmatched (missed or extra).
    """

    score: float
    n_a: int
    n_b: int
    pairs: tuple[tuple[int, int, float], ...] = field(default=())

    @property
    def matched(self) -> np.ndarray:
        """The matched pairs' similarities (e.g. per-box IoUs), in a's order."""
        return np.array([s for _, _, s in self.pairs], dtype=np.float64)

    @property
    def f1(self) -> float:
        """The soft F1 of the matching: 2 Σ similarity / (n_a + n_b); 1 for two empties."""
        if self.n_a + self.n_b == 0:
            return 1.0
        return float(2.0 * self.matched.sum() / (self.n_a + self.n_b))


def match_objects(similarity: np.ndarray, labels_a, labels_b) -> Match:
    """Match objects one to one by ``similarity`` (n_a, n_b), same labels only.

    Score: ``Σ matched similarity / max(n_a, n_b)``; 1.0 when both answers are empty.
    """
    labels_a = np.asarray(labels_a).reshape(-1)
    labels_b = np.asarray(labels_b).reshape(-1)
    n_a, n_b = len(labels_a), len(labels_b)
    if n_a == 0 and n_b == 0:
        return Match(1.0, 0, 0)
    if n_a == 0 or n_b == 0:
        return Match(0.0, n_a, n_b)
    scores = np.asarray(similarity, dtype=np.float64).reshape(n_a, n_b)
    scores = np.where(labels_a[:, None] == labels_b[None, :], np.clip(scores, 0.0, 1.0), 0.0)
    rows, cols = linear_sum_assignment(-scores)
    pairs = tuple(
        (int(r), int(c), float(scores[r, c]))
        for r, c in sorted(zip(rows, cols, strict=True))
        if scores[r, c] > 0
    )
    total = sum(s for _, _, s in pairs)
    return Match(float(total / max(n_a, n_b)), n_a, n_b, pairs)


def boxes_match(boxes_a, labels_a, boxes_b, labels_b) -> Match:
    """Boxes as (n, 4) x, y, w, h arrays; labels as any comparable values."""
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    return match_objects(box_iou(a, b), labels_a, labels_b)


def polygon_iou(a: np.ndarray, b: np.ndarray, *, grid: int = POLYGON_GRID) -> float:
    """IoU of two polygons' areas, each (n, 2) vertices, rasterised (even-odd rule, as the
    consolidation does) on a grid of ``grid`` cells a side over both of them; pairs whose
    bounding boxes do not overlap are 0 without rasterising."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    if np.any(np.minimum(a.max(axis=0), b.max(axis=0)) <= np.maximum(a.min(axis=0), b.min(axis=0))):
        return 0.0
    both = np.vstack([a, b])
    low, high = both.min(axis=0), both.max(axis=0)
    step = (high - low).max() / grid
    xs = np.arange(low[0] + step / 2, high[0], step)
    ys = np.arange(low[1] + step / 2, high[1], step)
    inside_a, inside_b = rasterize(a, xs, ys), rasterize(b, xs, ys)
    union = np.logical_or(inside_a, inside_b).sum()
    return float(np.logical_and(inside_a, inside_b).sum() / union) if union else 0.0


def polygons_match(polygons_a, labels_a, polygons_b, labels_b) -> Match:
    """Polygons as lists of (n, 2) vertex arrays."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    scores = np.zeros((len(polygons_a), len(polygons_b)))
    for i, a in enumerate(polygons_a):
        for j, b in enumerate(polygons_b):
            if labels_a[i] == labels_b[j]:
                scores[i, j] = polygon_iou(a, b)
    return match_objects(scores, labels_a, labels_b)


def _closeness(distance: np.ndarray, sigma: float) -> np.ndarray:
    distance = np.asarray(distance, dtype=np.float64)
    if sigma <= 0:
        return (distance == 0).astype(np.float64)
    score = np.exp(-(distance**2) / (2.0 * sigma * sigma))
    return np.where(distance > 3.0 * sigma, 0.0, score)


def keypoint_sigma(width: float, height: float) -> float:
    """The closeness scale of keypoints and lines on an image of this size."""
    return KEYPOINT_SIGMA_SHARE * float(np.hypot(width, height))


def keypoints_match(points_a, labels_a, points_b, labels_b, *, sigma: float) -> Match:
    """Points as (n, 2) x, y arrays; ``sigma`` in pixels (see ``keypoint_sigma``)."""
    a = np.asarray(points_a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(points_b, dtype=np.float64).reshape(-1, 2)
    distance = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return match_objects(_closeness(distance, sigma), labels_a, labels_b)


def _line_distance(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = resample(a), resample(b)
    forward = np.linalg.norm(ra - rb, axis=1).mean()
    backward = np.linalg.norm(ra - rb[::-1], axis=1).mean()
    return float(min(forward, backward))


def polylines_match(lines_a, labels_a, lines_b, labels_b, *, sigma: float) -> Match:
    """Polylines as lists of (n, 2) vertex arrays (n >= 2); ``sigma`` in pixels."""
    distance = np.array([[_line_distance(a, b) for b in lines_b] for a in lines_a]).reshape(
        len(lines_a), len(lines_b)
    )
    return match_objects(_closeness(distance, sigma), labels_a, labels_b)


def spans_match(spans_a, spans_b) -> Match:
    """Spans as (n, 3) rows of start, end (exclusive), label; the score is the soft F1."""
    a = np.asarray(spans_a, dtype=np.int64).reshape(-1, 3)
    b = np.asarray(spans_b, dtype=np.int64).reshape(-1, 3)
    if len(a) == 0 and len(b) == 0:
        return Match(1.0, 0, 0)
    if len(a) == 0 or len(b) == 0:
        return Match(0.0, len(a), len(b))
    starts = np.concatenate([a[:, 0], b[:, 0]])
    ends = np.concatenate([a[:, 1], b[:, 1]])
    jaccard = jaccard_matrix(starts, ends)[: len(a), len(a) :]
    matched = match_objects(jaccard, a[:, 2], b[:, 2])
    return Match(matched.f1, len(a), len(b), matched.pairs)


def tracks_match(tracks_a, labels_a, tracks_b, labels_b) -> Match:
    """Tracks as dense (n_frames, 4) box arrays, NaN where the object is absent; the two
    answers' arrays must have the same number of frames."""
    labels_a, labels_b = np.asarray(labels_a), np.asarray(labels_b)
    scores = np.zeros((len(tracks_a), len(tracks_b)))
    for i, a in enumerate(tracks_a):
        for j, b in enumerate(tracks_b):
            if labels_a[i] == labels_b[j]:
                scores[i, j] = track_iou(a, b)
    return match_objects(scores, labels_a, labels_b)


def _class_confusion(a: np.ndarray, b: np.ndarray, n_classes: int) -> np.ndarray:
    """(K + 1, K + 1) pixel counts of (value in a, value in b), in one pass over the maps."""
    size = n_classes + 1
    dtype = np.uint16 if size <= 256 else np.int64  # maps are 8-bit: the index fits
    a = np.asarray(a).astype(dtype)
    b = np.asarray(b).astype(dtype)
    for values in (a, b):
        if values.size and values.max() > n_classes:
            np.minimum(values, n_classes, out=values)
    return np.bincount((a * size + b).ravel(), minlength=size * size).reshape(size, size)


def per_class_iou(a: np.ndarray, b: np.ndarray, n_classes: int) -> np.ndarray:
    """IoU of each class k (label k, map value k + 1); NaN where neither map has it."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return np.full(n_classes, np.nan)
    confusion = _class_confusion(a, b, n_classes)
    both = np.diag(confusion)[1:].astype(np.float64)
    union = confusion.sum(axis=1)[1:] + confusion.sum(axis=0)[1:] - both
    return np.divide(both, union, out=np.full(n_classes, np.nan), where=union > 0)


def label_map_similarity(a: np.ndarray, b: np.ndarray, n_classes: int) -> float:
    """Mean per-class IoU of two label maps (0 = background, k + 1 = label k) over the
    classes in either (the measure of ``labeling.consolidation.masks.mask_iou``); 1.0 when
    neither has any class, 0.0 for maps of different sizes."""
    if np.shape(a) != np.shape(b):
        return 0.0
    scores = per_class_iou(a, b, n_classes)
    present = ~np.isnan(scores)
    return float(scores[present].mean()) if present.any() else 1.0


def frames_boxes_similarity(frames_a: dict, frames_b: dict) -> float:
    """Per-frame boxes: ``{frame: (boxes (n, 4), labels (n,))}``; the mean box score over
    the frames where either answer has a box (1.0 when neither has any)."""
    frames = sorted(
        n
        for n in set(frames_a) | set(frames_b)
        if len(frames_a.get(n, ((), ()))[1]) or len(frames_b.get(n, ((), ()))[1])
    )
    if not frames:
        return 1.0
    empty = (np.zeros((0, 4)), np.zeros(0))
    scores = [boxes_match(*frames_a.get(n, empty), *frames_b.get(n, empty)).score for n in frames]
    return float(np.mean(scores))
