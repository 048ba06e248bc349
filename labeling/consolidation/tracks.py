"""Video object tracks: interpolation between keyframes, and tracks of several workers ->
one set of tracks, consolidated per frame and object.

A track is a set of keyframes (frame number -> box x, y, w, h); between two keyframes its
box moves linearly, outside its first and last keyframe it does not exist. Tracks are
matched across workers by their mean IoU over the frames either of them covers (Hungarian
per worker against the first member of each cluster). In every frame a cluster's box is
the mean of its members' boxes there, kept when at least ``min_share`` of the workers have
the object in that frame; a track's confidence is the share of workers that drew it. With
``weights`` (a reliability per worker, issue 19) shares are by weight and boxes weighted means.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from labeling.consolidation.matching import (
    WEIGHTED_SHARE_SLACK,
    answer_weights,
    below_share,
    majority,
    weighted_share,
)

DEFAULT_MATCH_IOU = 0.5
DEFAULT_MIN_SHARE = 0.5


def interpolate(keyframes: dict[int, np.ndarray], n_frames: int) -> np.ndarray:
    """Dense boxes (n_frames, 4), NaN where the track does not exist."""
    dense = np.full((n_frames, 4), np.nan)
    if not keyframes:
        return dense
    frames = np.array(sorted(keyframes))
    boxes = np.array([keyframes[f] for f in frames], dtype=np.float64)
    first, last = int(frames[0]), int(min(frames[-1], n_frames - 1))
    span = np.arange(first, last + 1)
    for column in range(4):
        dense[first : last + 1, column] = np.interp(span, frames, boxes[:, column])
    return dense


def track_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Mean per-frame IoU over the frames where either dense track exists (0 where one is
    missing), so tracks that share little time score low."""
    present_a = ~np.isnan(a[:, 0])
    present_b = ~np.isnan(b[:, 0])
    either = present_a | present_b
    if not either.any():
        return 0.0
    both = present_a & present_b
    if not both.any():
        return 0.0
    return float(_pairwise(a[both], b[both]).sum() / either.sum())


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, 0], b[:, 0])
    y1 = np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


@dataclass(frozen=True)
class ConsolidatedTrack:
    class_id: int
    boxes: np.ndarray  # (n_frames, 4), NaN where the object is not kept
    confidence: float


def consolidate_tracks(
    tracks_per_worker: list[list[np.ndarray]],
    classes_per_worker: list[list[int]],
    n_classes: int,
    *,
    match_iou: float = DEFAULT_MATCH_IOU,
    min_share: float = DEFAULT_MIN_SHARE,
    weights: np.ndarray | None = None,
) -> list[ConsolidatedTrack]:
    """``tracks_per_worker[w]`` holds worker w's dense tracks, each (n_frames, 4) with NaN;
    ``weights[w]`` is worker w's weight (None: every worker counts one)."""
    n_workers = len(tracks_per_worker)
    weights = answer_weights(weights, n_workers) if n_workers else None
    clusters: list[list[tuple[int, int]]] = []
    for worker, tracks in enumerate(tracks_per_worker):
        taken = np.zeros(len(tracks), dtype=bool)
        if clusters and tracks:
            seeds = [tracks_per_worker[w][i] for w, i in (members[0] for members in clusters)]
            scores = np.array([[track_iou(seed, track) for track in tracks] for seed in seeds])
            rows, cols = linear_sum_assignment(-scores)
            for row, col in zip(rows, cols, strict=True):
                if scores[row, col] >= match_iou:
                    clusters[row].append((worker, int(col)))
                    taken[col] = True
        clusters.extend([[(worker, int(col))] for col in np.flatnonzero(~taken)])
    result = []
    for members in clusters:
        share = weighted_share(members, weights, n_workers)
        if below_share(share, min_share, weights):
            continue
        stack = np.stack([tracks_per_worker[w][i] for w, i in members])
        mean = np.full(stack.shape[1:], np.nan)
        if weights is None:
            present = (~np.isnan(stack[:, :, 0])).sum(axis=0)
            kept = present >= np.ceil(min_share * n_workers - 1e-9)
            mean[kept] = np.nansum(stack[:, kept], axis=0) / present[kept, None]
            member_weights = None
        else:
            member_weights = np.array([weights[w] for w, _ in members])
            there = ~np.isnan(stack[:, :, 0])  # (members, frames)
            present_weight = member_weights @ there
            needed = (min_share - WEIGHTED_SHARE_SLACK) * weights.sum()
            kept = (present_weight >= needed - 1e-9) & (present_weight > 0)
            weighted = (
                np.nan_to_num(stack[:, kept])
                * (member_weights[:, None] * there[:, kept])[:, :, None]
            )
            mean[kept] = weighted.sum(axis=0) / present_weight[kept, None]
        class_id, _ = majority(
            [classes_per_worker[w][i] for w, i in members], n_classes, member_weights
        )
        result.append(ConsolidatedTrack(class_id, mean, share))
    return result
