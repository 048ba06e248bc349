"""Keypoints of several workers -> one point per matched group, at the group's mean.

Per label, points are matched across workers (Hungarian per worker) when they lie within
``radius`` of the group's running mean; a group is kept when at least ``min_share`` of
the workers placed it, and its confidence is that share. With ``weights`` (a reliability
per worker, issue 19) the share is by weight and the point the weighted mean.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.matching import (
    answer_weights,
    below_share,
    cluster_across_workers,
    weighted_rows_mean,
    weighted_share,
)

DEFAULT_MIN_SHARE = 0.5
# The match radius as a share of the image's diagonal.
DEFAULT_RADIUS_SHARE = 0.05


@dataclass(frozen=True)
class ConsolidatedPoint:
    class_id: int
    x: float
    y: float
    confidence: float


def _closeness(centres: np.ndarray, points: np.ndarray) -> np.ndarray:
    return -np.linalg.norm(centres[:, None, :] - points[None, :, :], axis=2)


def consolidate_keypoints(
    points_per_worker: list[np.ndarray],
    classes_per_worker: list[np.ndarray],
    n_classes: int,
    *,
    radius: float,
    min_share: float = DEFAULT_MIN_SHARE,
    weights: np.ndarray | None = None,
) -> list[ConsolidatedPoint]:
    """``points_per_worker[w]`` is an (n_w, 2) array of x, y; classes are label indices;
    ``weights[w]`` is worker w's weight (None: every worker counts one)."""
    n_workers = len(points_per_worker)
    weights = answer_weights(weights, n_workers) if n_workers else None
    kept: list[ConsolidatedPoint] = []
    for class_id in range(n_classes):
        groups = [
            np.asarray(points, dtype=np.float64).reshape(-1, 2)[np.asarray(classes) == class_id]
            for points, classes in zip(points_per_worker, classes_per_worker, strict=True)
        ]
        for members in cluster_across_workers(groups, _closeness, -radius):
            share = weighted_share(members, weights, n_workers)
            if below_share(share, min_share, weights):
                continue
            rows = np.stack([groups[w][i] for w, i in members])
            mean = weighted_rows_mean(rows, members, weights)
            kept.append(ConsolidatedPoint(class_id, float(mean[0]), float(mean[1]), share))
    return kept
