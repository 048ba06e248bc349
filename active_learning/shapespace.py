"""What a detector or segmenter predicts for a job's items, in the shape the loop handles:
the twin of ``labelspace.LabelSpace`` for box and mask jobs.

The loop (``services/rounds.py``) treats a round's predictions through a "space": which
prediction each item gets, how sure the model is, the text and value of an auto-label. For
box and mask jobs a prediction is an object (``ShapeAnswer``) rather than a row of class
probabilities, its confidence the learner's per-item score, and the label value is built by
the task type's own ``auto_labeling`` target, shaped like a consolidated human label.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.task_types.auto_labeling import BoxesTarget, MasksTarget, auto_labeling_target

BOX_TASK_TYPES = ("image-bounding-box", "image-bounding-box-adjustment")
MASK_TASK_TYPES = ("image-semantic-segmentation",)
SHAPE_TASK_TYPES = BOX_TASK_TYPES + MASK_TASK_TYPES


@dataclass(frozen=True)
class ShapeAnswer:
    """One item's prediction: boxes in pixels (x, y, w, h) with classes and box scores, or a
    label map at the image's size; the item score; the image's size."""

    score: float
    image_size: dict[str, int]
    boxes: np.ndarray | None = None
    classes: np.ndarray | None = None
    box_scores: np.ndarray | None = None
    label_map: np.ndarray | None = None


def mean_iou_target(task_type: str, configured: float | None) -> float:
    """A box or mask job's mean IoU target: its own setting, or the task type's default."""
    if configured is not None:
        return float(configured)
    target = auto_labeling_target(task_type)
    assert target is not None
    return target.threshold


def answers_array(answers: list[ShapeAnswer]) -> np.ndarray:
    """A 1-d object array of answers (what the loop indexes like class probabilities)."""
    out = np.empty(len(answers), dtype=object)
    for index, answer in enumerate(answers):
        out[index] = answer
    return out


@dataclass(frozen=True)
class ShapeSpace:
    task_type: str
    classes: tuple[str, ...]
    multilabel: bool = False

    @property
    def masks(self) -> bool:
        return self.task_type in MASK_TASK_TYPES

    def predicted(self, answers: np.ndarray) -> np.ndarray:
        return answers

    def confidence(self, answers: np.ndarray) -> np.ndarray:
        return np.asarray([answer.score for answer in answers], dtype=np.float64)

    def uncertainty(
        self, answers: np.ndarray, strategy: Any = None, context: Any = None
    ) -> np.ndarray:
        """Human-queue scores in [0, 1]: one minus the item score (the strategy is for
        class probabilities and does not apply)."""
        return 1.0 - np.clip(self.confidence(answers), 0.0, 1.0)

    def text(self, answer: ShapeAnswer) -> str:
        """Box and mask labels have no one-class text (human ones store "" too)."""
        return ""

    def value(self, answer: ShapeAnswer) -> dict[str, Any]:
        """The label value, shaped like a consolidated human one (a mask's PNGs are written
        now, under ``label-maps/``)."""
        labels = list(self.classes)
        if self.masks:
            assert answer.label_map is not None
            return MasksTarget().value_from_prediction(
                index_map=answer.label_map, confidence=answer.score, labels=labels
            )
        assert answer.boxes is not None
        return {
            **BoxesTarget().value_from_prediction(
                boxes=answer.boxes,
                classes=answer.classes,
                scores=answer.box_scores,
                labels=labels,
                image_size=answer.image_size,
            ),
            "model_confidence": round(float(answer.score), 6),
        }
