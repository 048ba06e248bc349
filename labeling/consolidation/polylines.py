"""Polylines (and two-point lines) of several workers -> one mean line per matched group.

Each line is resampled to ``SAMPLES`` points evenly spaced along its length and turned to a
canonical direction (from its leftmost end, or its topmost for a steep line), so a line
drawn either way compares the same. Per label, lines are matched across workers with the
shared one-to-one clustering when the mean distance between their samples is within
``radius``; a group is kept when at least ``min_share`` of the workers drew it, its
confidence being that share. The consolidated polyline is the group's member nearest the
group's mean (as polygons pick the drawn polygon nearest the vote), so its corners are ones
a worker placed; a two-point line is the mean of the group's ends. With ``weights`` (a
reliability per worker, issue 19) the share is by weight and the mean a weighted mean.
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

SAMPLES = 32
DEFAULT_MIN_SHARE = 0.5
# The match radius as a share of the image's diagonal.
DEFAULT_RADIUS_SHARE = 0.03


@dataclass(frozen=True)
class ConsolidatedLine:
    class_id: int
    vertices: np.ndarray  # (k, 2)
    confidence: float


def resample(vertices: np.ndarray, samples: int = SAMPLES) -> np.ndarray:
    """``samples`` points evenly spaced along the polyline ``vertices`` (n, 2), n >= 2."""
    points = np.asarray(vertices, dtype=np.float64).reshape(-1, 2)
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] == 0:
        return np.repeat(points[:1], samples, axis=0)
    targets = np.linspace(0.0, along[-1], samples)
    return np.column_stack(
        [np.interp(targets, along, points[:, 0]), np.interp(targets, along, points[:, 1])]
    )


def canonical(points: np.ndarray) -> np.ndarray:
    """The points in the direction that starts at the leftmost end (topmost when steep)."""
    dx, dy = points[-1] - points[0]
    backwards = dy < 0 if abs(dy) > abs(dx) else dx < 0
    return points[::-1] if backwards else points


def _closeness(centres: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Minus the mean sample distance of every centre to every line (rows of 2·SAMPLES)."""
    a = centres.reshape(len(centres), 1, -1, 2)
    b = lines.reshape(1, len(lines), -1, 2)
    return -np.linalg.norm(a - b, axis=3).mean(axis=2)


def consolidate_polylines(
    lines_per_worker: list[list[np.ndarray]],
    classes_per_worker: list[list[int]],
    n_classes: int,
    *,
    radius: float,
    min_share: float = DEFAULT_MIN_SHARE,
    two_points: bool = False,
    weights: np.ndarray | None = None,
) -> list[ConsolidatedLine]:
    """``lines_per_worker[w]`` holds worker w's lines, each an (n, 2) array of x, y;
    ``weights[w]`` is worker w's weight (None: every worker counts one)."""
    n_workers = len(lines_per_worker)
    weights = answer_weights(weights, n_workers) if n_workers else None
    samples = 2 if two_points else SAMPLES
    kept: list[ConsolidatedLine] = []
    for class_id in range(n_classes):
        drawn = [
            [
                np.asarray(line, dtype=np.float64).reshape(-1, 2)
                for line, cls in zip(lines, classes, strict=True)
                if cls == class_id
            ]
            for lines, classes in zip(lines_per_worker, classes_per_worker, strict=True)
        ]
        groups = [
            np.array([canonical(resample(line, samples)).ravel() for line in lines]).reshape(
                -1, samples * 2
            )
            for lines in drawn
        ]
        for members in cluster_across_workers(groups, _closeness, -radius):
            share = weighted_share(members, weights, n_workers)
            if below_share(share, min_share, weights):
                continue
            rows = np.stack([groups[w][i] for w, i in members])
            mean = weighted_rows_mean(rows, members, weights)
            if two_points:
                vertices = mean.reshape(-1, 2)
            else:
                nearest = int(
                    np.abs(rows - mean).reshape(len(rows), -1, 2).sum(axis=(1, 2)).argmin()
                )
                worker, index = members[nearest]
                vertices = drawn[worker][index]
            kept.append(ConsolidatedLine(class_id, vertices, share))
    return kept
