"""Polygons of several workers -> one polygon per object, by pixel vote.

Polygons are matched across workers by the IoU of their bounding boxes (Hungarian per
worker). Within a cluster every member is rasterised on a common grid and the pixels that
at least half of the members cover form the voted shape; the member polygon that agrees
best with the voted shape (highest IoU) is the consolidated one. The cluster is kept when
at least ``min_share`` of the workers drew it; its confidence is that share. Rasterising is
plain numpy (even-odd rule at pixel centres) on a grid of at most ``GRID`` cells a side.

With ``weights`` (a reliability per worker, issue 19) the share and the pixel vote are by
weight and the class is the weighted vote; without them every worker counts one.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.matching import (
    answer_weights,
    below_share,
    box_iou,
    cluster_across_workers,
    majority,
    weighted_share,
)

DEFAULT_MATCH_IOU = 0.3
DEFAULT_MIN_SHARE = 0.5
GRID = 256


@dataclass(frozen=True)
class ConsolidatedPolygon:
    vertices: np.ndarray  # (n, 2) x, y
    class_id: int
    confidence: float
    voted_iou: float  # IoU of the chosen polygon with the voted shape


def polygon_bbox(vertices: np.ndarray) -> np.ndarray:
    vertices = np.asarray(vertices, dtype=np.float64)
    low = vertices.min(axis=0)
    high = vertices.max(axis=0)
    return np.array([low[0], low[1], high[0] - low[0], high[1] - low[1]])


def polygon_area(vertices: np.ndarray) -> float:
    """Shoelace formula."""
    x, y = np.asarray(vertices, dtype=np.float64).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def rasterize(vertices: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Boolean mask over the grid ``ys`` x ``xs`` (pixel centres) of points inside."""
    vertices = np.asarray(vertices, dtype=np.float64)
    x1, y1 = vertices[:, 0], vertices[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    py = ys[:, None]  # (rows, 1)
    inside = np.zeros((len(ys), len(xs)), dtype=bool)
    for ax, ay, bx, by in zip(x1, y1, x2, y2, strict=True):
        if ay == by:
            continue
        crosses = (ay > py) != (by > py)  # (rows, 1)
        x_at = ax + (py - ay) * (bx - ax) / (by - ay)  # (rows, 1)
        inside ^= crosses & (xs[None, :] < x_at)
    return inside


def grid_for(boxes: np.ndarray, size: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    low = boxes[:, :2].min(axis=0)
    high = (boxes[:, :2] + boxes[:, 2:]).max(axis=0)
    step = max((high - low).max() / size, 1.0)
    xs = np.arange(low[0] + step / 2, high[0], step)
    ys = np.arange(low[1] + step / 2, high[1], step)
    return xs, ys


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def consolidate_polygons(
    polygons_per_worker: list[list[np.ndarray]],
    classes_per_worker: list[list[int]],
    n_classes: int,
    *,
    match_iou: float = DEFAULT_MATCH_IOU,
    min_share: float = DEFAULT_MIN_SHARE,
    weights: np.ndarray | None = None,
) -> list[ConsolidatedPolygon]:
    """``weights[w]`` is worker w's weight (None: every worker counts one)."""
    n_workers = len(polygons_per_worker)
    if n_workers == 0:
        return []
    weights = answer_weights(weights, n_workers)
    boxes = [
        np.array([polygon_bbox(p) for p in polygons]).reshape(-1, 4)
        for polygons in polygons_per_worker
    ]
    clusters = cluster_across_workers(boxes, box_iou, match_iou)
    kept = []
    for members in clusters:
        share = weighted_share(members, weights, n_workers)
        if below_share(share, min_share, weights):
            continue
        shapes = [np.asarray(polygons_per_worker[w][i], dtype=np.float64) for w, i in members]
        xs, ys = grid_for(np.stack([boxes[w][i] for w, i in members]))
        masks = np.stack([rasterize(shape, xs, ys) for shape in shapes])
        member_weights = None if weights is None else np.array([weights[w] for w, _ in members])
        if member_weights is None or member_weights.sum() <= 0:
            voted = masks.sum(axis=0) * 2 >= len(members)
        else:
            voted = np.tensordot(member_weights, masks, axes=1) * 2 >= member_weights.sum()
        agreement = [mask_iou(mask, voted) for mask in masks]
        best = int(np.argmax(agreement))
        class_id, _ = majority(
            [classes_per_worker[w][i] for w, i in members], n_classes, member_weights
        )
        kept.append(ConsolidatedPolygon(shapes[best], class_id, share, agreement[best]))
    return kept
