"""Matching objects across workers: IoU of boxes and a one-to-one assignment per worker.

Every geometric strategy (boxes, keypoints, tracks, polygons) clusters the same way: the
first worker's objects seed clusters; each further worker's objects are matched one to one
to the clusters (Hungarian, on a cost the caller gives) and the unmatched ones seed new
clusters. A worker thus contributes at most one object to a cluster.
"""

from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4), boxes as x, y, w, h."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    width = np.minimum(ax2[:, None], bx2[None, :]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(ay2[:, None], by2[None, :]) - np.maximum(a[:, None, 1], b[None, :, 1])
    overlap = np.clip(width, 0, None) * np.clip(height, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


def cluster_across_workers(
    groups: list[np.ndarray],
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
    threshold: float,
) -> list[list[tuple[int, int]]]:
    """Cluster the objects of several workers; returns clusters of (worker, object index).

    ``groups[w]`` holds worker w's objects (rows). ``similarity(centres, objects)`` scores
    every cluster centre against every object (higher is closer); a pair matches only when
    its score reaches ``threshold``. Centres are the running means of the clusters' rows.
    """
    clusters: list[list[tuple[int, int]]] = []
    sums: list[np.ndarray] = []
    for worker, objects in enumerate(groups):
        objects = np.asarray(objects, dtype=np.float64)
        if len(objects) == 0:
            continue
        taken = np.zeros(len(objects), dtype=bool)
        if clusters:
            centres = np.stack(
                [total / len(members) for total, members in zip(sums, clusters, strict=True)]
            )
            scores = similarity(centres, objects)
            rows, cols = linear_sum_assignment(-scores)
            for row, col in zip(rows, cols, strict=True):
                if scores[row, col] >= threshold:
                    clusters[row].append((worker, int(col)))
                    sums[row] = sums[row] + objects[col]
                    taken[col] = True
        for col in np.flatnonzero(~taken):
            clusters.append([(worker, int(col))])
            sums.append(objects[col].copy())
    return clusters


def majority(values: list[int], n_classes: int) -> tuple[int, float]:
    """The most frequent class (ties to the lower index) and its share of ``values``."""
    counts = np.bincount(np.asarray(values, dtype=np.int64), minlength=n_classes)
    winner = int(counts.argmax())
    return winner, float(counts[winner] / max(len(values), 1))
