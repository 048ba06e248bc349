"""Span consolidation for named entity recognition.

The workers' spans are clustered by overlap: a span joins the cluster whose spans it overlaps
most (mean Jaccard of their character ranges, at least ``min_jaccard``), one span per worker
per cluster. A cluster marked by at least half of the workers becomes an entity: each
boundary is the most common one among its spans (the median when no value repeats), the
label is the majority (ties go to the job's label order), and the confidence is the share of
all workers who marked that span with that label. Without overlaps allowed, of two
overlapping entities the less confident one is dropped.

With ``weights`` (a reliability per worker, issue 19) every count above is a sum of the
workers' weights: a cluster is an entity when its workers hold at least half of the total
weight, a boundary is the value of most weight (the weighted median when no value holds more
than one worker's), the label the weighted vote (a near-tie as the plain vote breaks it:
``matching.weighted_vote``), the confidence the weighted share. Without
them every worker counts one and the result is exactly the unweighted one.
"""

from dataclasses import dataclass

import numpy as np

from labeling.consolidation.matching import (
    WEIGHTED_SHARE_SLACK,
    answer_weights,
    below_share,
    weighted_vote,
)

SPAN_CLUSTERING = "span-clustering"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: int  # index into the job's labels
    worker: int  # index of the worker's answer (0..n_workers-1)


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: int
    confidence: float
    support: int  # workers in the cluster


def jaccard_matrix(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Pairwise Jaccard of half-open ranges ``[start, end)``."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    intersection = np.clip(
        np.minimum(ends[:, None], ends[None, :]) - np.maximum(starts[:, None], starts[None, :]),
        0,
        None,
    )
    lengths = ends - starts
    union = lengths[:, None] + lengths[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros(union.shape), where=union > 0)


def boundary(values: np.ndarray, weights: np.ndarray | None = None) -> int:
    """The mode of ``values``; the (lower) median when no value occurs more than once.

    With ``weights`` (one per value): the value of most total weight when some value occurs
    more than once, else the first value (in order) whose cumulative weight reaches half the
    total less the keep rule's slack (``WEIGHTED_SHARE_SLACK``).
    """
    uniques, counts = np.unique(values, return_counts=True)
    if weights is not None:
        return _weighted_boundary(np.asarray(values), np.asarray(weights, dtype=np.float64))
    if counts.max() > 1:
        best = counts.max()
        return int(uniques[counts == best].min())
    ordered = np.sort(values)
    return int(ordered[(len(ordered) - 1) // 2])


def _weighted_boundary(values: np.ndarray, weights: np.ndarray) -> int:
    uniques, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    if counts.max() > 1:
        totals = np.bincount(inverse, weights=weights, minlength=len(uniques))
        return int(uniques[np.isclose(totals, totals.max())].min())
    # The lower weighted median, with the keep rule's slack: between two spans of about the
    # same weight this is the lower one, as the plain median takes it.
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    middle = int(np.searchsorted(cumulative, (0.5 - WEIGHTED_SHARE_SLACK) * cumulative[-1] - 1e-12))
    return int(values[order][min(middle, len(values) - 1)])


def cluster_spans(spans: list[Span], *, min_jaccard: float = 0.3) -> list[list[int]]:
    """Indices of ``spans`` grouped into clusters (greedy, in reading order).

    Spans are taken by start; only clusters still open at a span's start (their furthest end
    lies beyond it) can overlap it, so each span is compared with a handful of clusters,
    not with all of them, and no pairwise matrix over all spans is built.
    """
    if not spans:
        return []
    starts = np.array([s.start for s in spans], dtype=np.int64)
    ends = np.array([s.end for s in spans], dtype=np.int64)
    order = np.lexsort((-ends, starts))
    clusters: list[list[int]] = []
    cluster_end: list[int] = []
    open_clusters: list[int] = []
    for index in order.tolist():
        span = spans[index]
        open_clusters = [c for c in open_clusters if cluster_end[c] > span.start]
        best, best_score = -1, min_jaccard
        for number in open_clusters:
            members = clusters[number]
            if any(spans[m].worker == span.worker for m in members):
                continue
            member_starts, member_ends = starts[members], ends[members]
            overlap = np.clip(
                np.minimum(member_ends, span.end) - np.maximum(member_starts, span.start), 0, None
            )
            union = (member_ends - member_starts) + (span.end - span.start) - overlap
            score = float((overlap / np.maximum(union, 1)).mean())
            if score >= best_score:
                best, best_score = number, score
        if best < 0:
            clusters.append([index])
            cluster_end.append(span.end)
            open_clusters.append(len(clusters) - 1)
        else:
            clusters[best].append(index)
            cluster_end[best] = max(cluster_end[best], span.end)
    return clusters


def consolidate_spans(
    spans: list[Span],
    *,
    n_workers: int,
    n_labels: int,
    allow_overlap: bool = False,
    min_jaccard: float = 0.3,
    weights: np.ndarray | None = None,
) -> list[Entity]:
    """The consolidated entities of one text, in reading order; ``weights[w]`` is the weight
    of the answer numbered w (None: every worker counts one)."""
    if n_workers <= 0:
        return []
    weights = answer_weights(weights, n_workers)
    entities: list[Entity] = []
    for members in cluster_spans(spans, min_jaccard=min_jaccard):
        support = len(members)
        starts = np.array([spans[m].start for m in members])
        ends = np.array([spans[m].end for m in members])
        labels = np.array([spans[m].label for m in members])
        if weights is None:
            if support * 2 < n_workers:
                continue
            start, end = boundary(starts), boundary(ends)
            votes = np.bincount(labels, minlength=n_labels)
            label = int(votes.argmax())  # argmax takes the first: the job's label order
            total = float(n_workers)
        else:
            member_weights = weights[[spans[m].worker for m in members]]
            total = float(weights.sum())
            if below_share(float(member_weights.sum()) / total, 0.5, weights):
                continue
            start, end = boundary(starts, member_weights), boundary(ends, member_weights)
            label, votes = weighted_vote(labels, n_labels, member_weights)
        if end <= start:
            start, end = int(np.median(starts)), int(np.median(ends))
            if end <= start:
                continue
        entities.append(Entity(start, end, label, round(float(votes[label]) / total, 6), support))
    entities.sort(key=lambda e: (e.start, e.end))
    if not allow_overlap:
        entities = _without_overlaps(entities)
    return entities


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (-e.confidence, -e.support, e.start)):
        if all(entity.end <= k.start or k.end <= entity.start for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: (e.start, e.end))
