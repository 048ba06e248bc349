"""Several reviewers' key-value pairs of one document, or moderation labels of one image,
-> one answer with a confidence per key (label) and per item. Pure.

Key values: keys are matched by their text normalised (case, runs of whitespace, a trailing
colon); a key is kept when more than half of the reviewers kept it (a tie follows the most
reliable reviewer, the first on equal reliability). Its value is the one most reviewers typed,
compared normalised (a tie goes to the most reliable reviewer's, then the first's); it is
written as that reviewer typed it. Each box is the mean of the boxes that overlap the chosen
reviewer's box by IoU of at least ``IOU_THRESHOLD``. A key's confidence is the share of the
reviewers behind its value; the item's is the mean over its keys.

Moderation labels: a label is kept when more than half of the reviewers chose it (ties as
above); its confidence is the share that chose it if kept, the share that did not otherwise;
the item's is the mean over every label anyone chose (1 when nobody chose any).

``reliability`` (one number per reviewer, higher is better) only breaks ties.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labeling.consolidation.matching import box_iou

KEY_VALUE_MAJORITY = "key-value-majority"
MODERATION_MAJORITY = "moderation-majority"
IOU_THRESHOLD = 0.5
_SPACES = re.compile(r"\s+")

Box = tuple[float, float, float, float]  # left, top, width, height (0–1 of the page)


def normalise(text: str) -> str:
    """The text as keys and values are compared: case folded, whitespace collapsed, no
    trailing colon."""
    return _SPACES.sub(" ", str(text)).strip().rstrip(":").strip().casefold()


@dataclass(frozen=True)
class ReviewedPair:
    key: str
    value: str
    key_box: Box | None = None
    value_box: Box | None = None


@dataclass(frozen=True)
class ConsolidatedPair:
    key: str
    value: str
    key_box: Box | None
    value_box: Box | None
    confidence: float
    votes: int  # reviewers who typed the chosen value


def _weights(n: int, reliability: Sequence[float] | None) -> np.ndarray:
    if reliability is None or len(reliability) != n:
        return np.ones(n)
    weights = np.clip(np.asarray(reliability, dtype=np.float64), 1e-6, None)
    return weights


def _best(reviewers: list[int], weights: np.ndarray) -> int:
    """The most reliable of ``reviewers``, the first on equal reliability."""
    return max(reviewers, key=lambda r: (weights[r], -r))


def _mean_box(anchor: Box | None, boxes: list[Box]) -> Box | None:
    if anchor is None:
        return None
    rows = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    close = rows[box_iou(np.asarray(anchor, dtype=np.float64), rows)[0] >= IOU_THRESHOLD]
    mean = close.mean(axis=0) if len(close) else np.asarray(anchor, dtype=np.float64)
    return tuple(round(float(v), 6) for v in mean)


def _kept(holders: list[int], n: int, weights: np.ndarray) -> bool:
    if 2 * len(holders) == n:
        return _best(list(range(n)), weights) in holders
    return 2 * len(holders) > n


def consolidate_key_values(
    answers: Sequence[Sequence[ReviewedPair]], reliability: Sequence[float] | None = None
) -> tuple[list[ConsolidatedPair], float]:
    """The consolidated pairs (in the order keys first appear) and the item's confidence."""
    n = len(answers)
    if n == 0:
        return [], 0.0
    weights = _weights(n, reliability)
    by_key: dict[str, list[tuple[int, ReviewedPair]]] = {}
    for reviewer, pairs in enumerate(answers):
        seen: set[str] = set()
        for pair in pairs:
            name = normalise(pair.key)
            if not name or name in seen:  # a reviewer's repeated key counts once
                continue
            seen.add(name)
            by_key.setdefault(name, []).append((reviewer, pair))
    result: list[ConsolidatedPair] = []
    for entries in by_key.values():
        holders = [reviewer for reviewer, _ in entries]
        if not _kept(holders, n, weights):
            continue
        groups: dict[str, list[int]] = {}
        for reviewer, pair in entries:
            groups.setdefault(normalise(pair.value), []).append(reviewer)
        most = max(len(g) for g in groups.values())
        tied = [g for g in groups.values() if len(g) == most]
        winners = max(tied, key=lambda g: (weights[_best(g, weights)], -min(g)))
        chosen = dict(entries)[_best(winners, weights)]
        key_boxes = [p.key_box for _, p in entries if p.key_box is not None]
        value_boxes = [p.value_box for _, p in entries if p.value_box is not None]
        result.append(
            ConsolidatedPair(
                key=chosen.key.strip(),
                value=chosen.value,
                key_box=_mean_box(chosen.key_box, key_boxes),
                value_box=_mean_box(chosen.value_box, value_boxes),
                confidence=round(len(winners) / n, 6),
                votes=len(winners),
            )
        )
    confidence = float(np.mean([p.confidence for p in result])) if result else 1.0
    return result, round(confidence, 6)


@dataclass(frozen=True)
class ConsolidatedModerationLabel:
    name: str
    parent_name: str
    chosen: bool
    share: float  # of the reviewers' weight that chose it
    confidence: float


def consolidate_moderation(
    answers: Sequence[Sequence[tuple[str, str]]], reliability: Sequence[float] | None = None
) -> tuple[list[ConsolidatedModerationLabel], float]:
    """``answers[r]`` is reviewer r's chosen (name, parent name) labels. Every label anyone
    chose, kept or not, in the order first chosen; and the item's confidence."""
    n = len(answers)
    if n == 0:
        return [], 0.0
    weights = _weights(n, reliability)
    choosers: dict[str, list[int]] = {}
    names: dict[str, tuple[str, str]] = {}
    for reviewer, labels in enumerate(answers):
        for name, parent in labels:
            key = normalise(name)
            if not key or reviewer in choosers.get(key, []):
                continue
            choosers.setdefault(key, []).append(reviewer)
            names.setdefault(key, (name.strip(), parent.strip()))
    result = []
    for key, holders in choosers.items():
        share = len(holders) / n
        chosen = _kept(holders, n, weights)
        name, parent = names[key]
        result.append(
            ConsolidatedModerationLabel(
                name=name,
                parent_name=parent,
                chosen=chosen,
                share=round(share, 6),
                confidence=round(share if chosen else 1 - share, 6),
            )
        )
    confidence = float(np.mean([label.confidence for label in result])) if result else 1.0
    return result, round(confidence, 6)


def agreement_reliability(
    items: Sequence[Sequence[tuple[int, dict[str, str]]]],
) -> dict[int, float]:
    """Each worker's reliability from a job's answers: over the items with two or more
    answers, the share of features (a key's value, a label's presence) on which the worker
    sided with the item's strict majority, smoothed as (agreed + 1) / (counted + 2).

    ``items[i]`` holds (worker, {feature: value}) per answer; a feature an answer lacks counts
    as absent."""
    agreed: dict[int, int] = {}
    counted: dict[int, int] = {}
    for answers in items:
        if len(answers) < 2:
            continue
        features = {feature for _, answer in answers for feature in answer}
        for feature in features:
            values = [answer.get(feature) for _, answer in answers]
            tally: dict[str | None, int] = {}
            for value in values:
                tally[value] = tally.get(value, 0) + 1
            best = max(tally.values())
            winners = [value for value, count in tally.items() if count == best]
            if len(winners) != 1:
                continue  # no majority: this feature says nothing about anyone
            for (worker, _), value in zip(answers, values, strict=True):
                counted[worker] = counted.get(worker, 0) + 1
                agreed[worker] = agreed.get(worker, 0) + (value == winners[0])
    return {worker: (agreed[worker] + 1) / (counted[worker] + 2) for worker in counted}
