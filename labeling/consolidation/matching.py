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


def majority(
    values: list[int], n_classes: int, weights: np.ndarray | None = None
) -> tuple[int, float]:
    """The most frequent class (ties to the lower index) and its share of ``values``; with
    ``weights`` (one per value) each value counts its weight."""
    values = np.asarray(values, dtype=np.int64)
    if weights is None:
        counts = np.bincount(values, minlength=n_classes)
        winner = int(counts.argmax())
        return winner, float(counts[winner] / max(len(values), 1))
    winner, counts = weighted_vote(values, n_classes, weights)
    return winner, float(counts[winner] / counts.sum()) if counts.sum() > 0 else 0.0


def weighted_vote(values, n_classes: int, weights) -> tuple[int, np.ndarray]:
    """The class of most weight among ``values`` (one weight each), and every class's weight.

    When it leads the class of most heads (ties to the lower index, as plain voting breaks
    them) by less than ``WEIGHTED_SHARE_SLACK`` of the voters' weight, the class of most heads
    wins: between workers of about the same reliability a tie stays the tie plain voting
    breaks, not a toss decided by whose estimate came out a little higher
    (bench/quality_shapes.py: weighted span labels lost 0.002 F1 at overlap 3 on a crowd of
    good workers that way). A reliable worker against an unreliable one leads by far more.
    """
    values = np.asarray(values, dtype=np.int64)
    by_weight = np.bincount(
        values, weights=np.asarray(weights, dtype=np.float64), minlength=n_classes
    )
    by_head = np.bincount(values, minlength=n_classes)
    heaviest, most = int(by_weight.argmax()), int(by_head.argmax())
    if by_weight[heaviest] - by_weight[most] < WEIGHTED_SHARE_SLACK * by_weight.sum():
        return most, by_weight
    return heaviest, by_weight


def answer_weights(weights: np.ndarray | None, n_workers: int) -> np.ndarray | None:
    """Per-worker weights checked against the number of workers (None: everyone counts one).

    Weighted strategies (issue 19) take a worker's reliability as the weight of their
    answer: a cluster is kept on the weighted share of workers who drew it, and its
    geometry is the weighted mean of its members. Weights must be finite and not negative,
    with a positive total. Equal weights are no weights: every worker counts one and the
    result is exactly the unweighted one (None), without the weighted keep rule's slack.
    """
    if weights is None:
        return None
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(weights) != n_workers:
        raise ValueError(f"{len(weights)} weights for {n_workers} workers")
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("weights must be finite, not negative, with a positive total")
    if np.all(weights == weights[0]):
        return None
    return weights


# A weighted share this close below the keep threshold still keeps a cluster: reliabilities
# are estimates, and between workers of about the same reliability a tie (two of four, one
# of two) must stay the tie plain voting keeps, not go to whoever's estimate came out a
# little higher (bench/quality_shapes.py: without it, weighting lost up to 0.04 mean IoU at
# overlap 2 on crowds of good workers). Far less reliable workers stay far below it.
WEIGHTED_SHARE_SLACK = 0.1


def below_share(share: float, min_share: float, weights: np.ndarray | None) -> bool:
    """Whether a cluster's (weighted) share is too small to keep it."""
    slack = 0.0 if weights is None else WEIGHTED_SHARE_SLACK
    return share < min_share - slack - 1e-9


def weighted_share(members, weights: np.ndarray | None, n_workers: int) -> float:
    """The share of the workers (by weight) among a cluster's (worker, index) members."""
    if weights is None:
        return len(members) / n_workers
    return float(sum(weights[w] for w, _ in members) / weights.sum())


def weighted_rows_mean(rows: np.ndarray, members, weights: np.ndarray | None) -> np.ndarray:
    """The mean of a cluster's rows, each weighted by its worker's weight (plain mean
    without weights; members of zero total weight fall back to the plain mean)."""
    if weights is None:
        return rows.mean(axis=0)
    member_weights = np.array([weights[w] for w, _ in members])
    if member_weights.sum() <= 0:
        return rows.mean(axis=0)
    return np.average(rows, axis=0, weights=member_weights)
