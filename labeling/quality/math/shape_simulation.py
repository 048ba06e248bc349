"""Simulated drawing and span workers of known skill, for tests and benchmarks.

A truth generator makes items with known boxes (or entity spans), and a worker model turns
the truth into one worker's answer, in the task type's answer shape (so it can go through
``parse_answer`` and the submit path). Seeded by the ``numpy.random.Generator`` passed in.

A worker's ``skill`` in [0, 1] sets every kind of error at once (1 = perfect):

- boxes: each corner moves by a normal jitter of ``(1 - skill) × 0.2`` of the box's size,
  a true box is missed with probability ``(1 - skill) × 0.4``, a box gets a wrong label
  with probability ``(1 - skill) × 0.4``, and ``Poisson((1 - skill) × 0.6)`` extra boxes
  are drawn at random places;
- spans: each boundary shifts by a normal of ``(1 - skill) × 4`` characters, a span is
  missed or mistyped with probability ``(1 - skill) × 0.4`` each, and
  ``Poisson((1 - skill) × 0.6)`` extra spans are marked at random.

A **random** worker (``random=True``) ignores the item: its boxes or spans are drawn at
random, as many as a typical item has, so its answers agree with others only by chance.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ShapeWorker:
    skill: float
    random: bool = False

    @property
    def error(self) -> float:
        return 1.0 - float(np.clip(self.skill, 0.0, 1.0))


# --- Boxes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoxItem:
    width: int
    height: int
    boxes: list[dict[str, Any]]  # {"label", "left", "top", "width", "height"}

    def answer(self, boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The bounding-box answer of these (or the true) boxes."""
        return {
            "annotatedResult": {
                "boundingBoxes": self.boxes if boxes is None else boxes,
                "inputImageProperties": {"width": self.width, "height": self.height},
            }
        }


def _random_box(rng: np.random.Generator, width: int, height: int, label: str) -> dict[str, Any]:
    w = int(rng.integers(width // 10, width // 3))
    h = int(rng.integers(height // 10, height // 3))
    return {
        "label": label,
        "left": int(rng.integers(0, width - w)),
        "top": int(rng.integers(0, height - h)),
        "width": w,
        "height": h,
    }


def box_truth(
    rng: np.random.Generator,
    n_items: int,
    labels: list[str],
    *,
    width: int = 640,
    height: int = 480,
    max_objects: int = 4,
) -> list[BoxItem]:
    """Items with 1..max_objects true boxes each, of random labels."""
    return [
        BoxItem(
            width,
            height,
            [
                _random_box(rng, width, height, str(rng.choice(labels)))
                for _ in range(int(rng.integers(1, max_objects + 1)))
            ],
        )
        for _ in range(n_items)
    ]


def _clip_box(left: float, top: float, right: float, bottom: float, width: int, height: int):
    left, right = sorted((float(np.clip(left, 0, width - 1)), float(np.clip(right, 1, width))))
    top, bottom = sorted((float(np.clip(top, 0, height - 1)), float(np.clip(bottom, 1, height))))
    left, top = round(left), round(top)
    w = max(1, min(round(right) - left, width - left))
    h = max(1, min(round(bottom) - top, height - top))
    return left, top, w, h


def box_answer(
    rng: np.random.Generator, item: BoxItem, worker: ShapeWorker, labels: list[str]
) -> dict[str, Any]:
    """One worker's bounding-box answer on ``item``."""
    error = worker.error
    if worker.random:
        count = int(rng.integers(1, 5))
        return item.answer(
            [
                _random_box(rng, item.width, item.height, str(rng.choice(labels)))
                for _ in range(count)
            ]
        )
    drawn = []
    for box in item.boxes:
        if rng.random() < 0.4 * error:
            continue
        spread = 0.2 * error * np.array([box["width"], box["height"]] * 2)
        x1, y1 = box["left"], box["top"]
        moved = np.array([x1, y1, x1 + box["width"], y1 + box["height"]]) + rng.normal(
            0.0, 1.0, 4
        ) * np.maximum(spread, 1e-9)
        left, top, w, h = _clip_box(*moved, item.width, item.height)
        label = box["label"]
        if len(labels) > 1 and rng.random() < 0.4 * error:
            label = str(rng.choice([x for x in labels if x != label]))
        drawn.append({"label": label, "left": left, "top": top, "width": w, "height": h})
    for _ in range(int(rng.poisson(0.6 * error))):
        drawn.append(_random_box(rng, item.width, item.height, str(rng.choice(labels))))
    return item.answer(drawn)


# --- Spans ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpanItem:
    text: str
    entities: list[dict[str, Any]]  # {"label", "startOffset", "endOffset"}, no overlaps

    def answer(self, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"entities": self.entities if entities is None else entities}


def _words(rng: np.random.Generator, n_words: int) -> tuple[str, list[tuple[int, int]]]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words, bounds, position = [], [], 0
    for _ in range(n_words):
        word = "".join(rng.choice(letters, int(rng.integers(2, 9))))
        words.append(word)
        bounds.append((position, position + len(word)))
        position += len(word) + 1
    return " ".join(words), bounds


def span_truth(
    rng: np.random.Generator,
    n_items: int,
    labels: list[str],
    *,
    n_words: int = 60,
    max_entities: int = 5,
) -> list[SpanItem]:
    """Texts of random words with 1..max_entities non-overlapping entities of 1–3 words."""
    items = []
    for _ in range(n_items):
        text, bounds = _words(rng, n_words)
        count = int(rng.integers(1, max_entities + 1))
        slots = np.sort(rng.choice(n_words // 4, count, replace=False)) * 4
        entities = []
        for first in slots.tolist():
            last = min(first + int(rng.integers(0, 3)), n_words - 1)
            entities.append(
                {
                    "label": str(rng.choice(labels)),
                    "startOffset": bounds[first][0],
                    "endOffset": bounds[last][1],
                }
            )
        items.append(SpanItem(text, entities))
    return items


def _without_overlaps(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for entity in sorted(entities, key=lambda e: (e["startOffset"], e["endOffset"])):
        if not kept or entity["startOffset"] >= kept[-1]["endOffset"]:
            kept.append(entity)
    return kept


def _random_span(rng: np.random.Generator, length: int, labels: list[str]) -> dict[str, Any]:
    start = int(rng.integers(0, max(length - 20, 1)))
    return {
        "label": str(rng.choice(labels)),
        "startOffset": start,
        "endOffset": min(start + int(rng.integers(3, 20)), length),
    }


def span_answer(
    rng: np.random.Generator, item: SpanItem, worker: ShapeWorker, labels: list[str]
) -> dict[str, Any]:
    """One worker's entity answer on ``item`` (no overlapping spans)."""
    length, error = len(item.text), worker.error
    if worker.random:
        count = int(rng.integers(1, 6))
        return item.answer(
            _without_overlaps([_random_span(rng, length, labels) for _ in range(count)])
        )
    marked = []
    for entity in item.entities:
        if rng.random() < 0.4 * error:
            continue
        start = entity["startOffset"] + round(float(rng.normal(0.0, 4.0 * error)))
        end = entity["endOffset"] + round(float(rng.normal(0.0, 4.0 * error)))
        start = int(np.clip(start, 0, length - 1))
        end = int(np.clip(end, start + 1, length))
        label = entity["label"]
        if len(labels) > 1 and rng.random() < 0.4 * error:
            label = str(rng.choice([x for x in labels if x != label]))
        marked.append({"label": label, "startOffset": start, "endOffset": end})
    for _ in range(int(rng.poisson(0.6 * error))):
        marked.append(_random_span(rng, length, labels))
    return item.answer(_without_overlaps(marked))
