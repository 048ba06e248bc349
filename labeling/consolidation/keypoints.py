"""Keypoints of several workers -> one point per matched group, at the group's mean.

Per label, points are matched across workers (Hungarian per worker) when they lie within
``radius`` of the group's running mean; a group is kept when at least ``min_share`` of
the workers placed it, and its confidence is that share.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.matching import cluster_across_workers

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
) -> list[ConsolidatedPoint]:
    """``points_per_worker[w]`` is an (n_w, 2) array of x, y; classes are label indices."""
    n_workers = len(points_per_worker)
    kept: list[ConsolidatedPoint] = []
    for class_id in range(n_classes):
        groups = [
            np.asarray(points, dtype=np.float64).reshape(-1, 2)[np.asarray(classes) == class_id]
            for points, classes in zip(points_per_worker, classes_per_worker, strict=True)
        ]
        for members in cluster_across_workers(groups, _closeness, -radius):
            share = len(members) / n_workers
            if share < min_share - 1e-9:
                continue
            mean = np.stack([groups[w][i] for w, i in members]).mean(axis=0)
            kept.append(ConsolidatedPoint(class_id, float(mean[0]), float(mean[1]), share))
    return kept
