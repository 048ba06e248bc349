"""Bounding boxes of several workers -> one set of boxes with a confidence each.

Boxes are matched across workers by IoU (Hungarian assignment per worker, at least
``iou_threshold``), each cluster's box is the mean of its members, its class the majority of
theirs, and it is kept when at least ``min_share`` of the workers drew it. Its confidence is
the share of workers that did.

With ``weights`` (a reliability per worker, issue 19) the share is the workers' weighted
share, the box the weighted mean and the class the weighted vote; without them every
worker counts one and the result is exactly the unweighted one.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from labeling.consolidation.matching import (
    answer_weights,
    below_share,
    box_iou,
    cluster_across_workers,
    majority,
    weighted_rows_mean,
    weighted_share,
)

DEFAULT_IOU_THRESHOLD = 0.5
DEFAULT_MIN_SHARE = 0.5


@dataclass(frozen=True)
class ConsolidatedBoxes:
    """The kept boxes, top to bottom then left to right."""

    boxes: np.ndarray  # (k, 4) float: left, top, width, height
    classes: np.ndarray  # (k,) int
    confidences: np.ndarray  # (k,) float in (0, 1]
    # Per kept box, the (worker, box index) pairs it was made from.
    members: tuple[tuple[tuple[int, int], ...], ...] = ()


_NOTHING = ConsolidatedBoxes(np.zeros((0, 4)), np.zeros(0, dtype=np.int64), np.zeros(0))


def consolidate_boxes(
    boxes_per_worker: list[np.ndarray],
    classes_per_worker: list[np.ndarray],
    n_classes: int,
    *,
    iou_threshold: float = DEFAULT_IOU_THRESHOLD,
    min_share: float = DEFAULT_MIN_SHARE,
    weights: np.ndarray | None = None,
) -> ConsolidatedBoxes:
    """``boxes_per_worker[w]`` is worker w's (n_w, 4) boxes; ``classes_per_worker[w]`` theirs;
    ``weights[w]`` worker w's weight (None: every worker counts one)."""
    n_workers = len(boxes_per_worker)
    if n_workers == 0:
        return _NOTHING
    weights = answer_weights(weights, n_workers)
    groups = [np.asarray(b, dtype=np.float64).reshape(-1, 4) for b in boxes_per_worker]
    clusters = cluster_across_workers(groups, box_iou, iou_threshold)
    kept_boxes, kept_classes, kept_confidences, kept_members = [], [], [], []
    for members in clusters:
        share = weighted_share(members, weights, n_workers)
        if below_share(share, min_share, weights):
            continue
        rows = np.stack([groups[w][i] for w, i in members])
        winner, _ = majority(
            [int(classes_per_worker[w][i]) for w, i in members],
            n_classes,
            None if weights is None else np.array([weights[w] for w, _ in members]),
        )
        kept_boxes.append(weighted_rows_mean(rows, members, weights))
        kept_classes.append(winner)
        kept_confidences.append(share)
        kept_members.append(tuple(members))
    if not kept_boxes:
        return _NOTHING
    order = np.lexsort((np.array(kept_boxes)[:, 0], np.array(kept_boxes)[:, 1]))
    return ConsolidatedBoxes(
        np.array(kept_boxes)[order],
        np.array(kept_classes, dtype=np.int64)[order],
        np.array(kept_confidences)[order],
        tuple(kept_members[i] for i in order),
    )


def mean_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean over the true boxes of the best IoU any predicted box reaches (one to one).

    The target metric of automated box labeling: a model's boxes are good enough for an item
    when this reaches the job's threshold (0.6 by default, as the managed service used).
    """
    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1, 4)
    if len(truth) == 0:
        return 1.0 if len(predicted) == 0 else 0.0
    if len(predicted) == 0:
        return 0.0
    scores = box_iou(truth, predicted)
    rows, cols = linear_sum_assignment(-scores)
    return float(scores[rows, cols].sum() / max(len(truth), len(predicted)))
