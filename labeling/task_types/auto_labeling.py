"""What automated labeling needs from the box and mask task types: the target metric (mean
IoU, with the managed service's thresholds: 0.6 for boxes, 0.7 for masks), how to score a
model's prediction against a human label, and how to turn a prediction into a label value
shaped like a consolidated human one (so exports need not tell them apart, except by
``human-annotated``). Training the models is the active-learning app's business; it reaches
these through ``auto_labeling_target(task_type_key)``.
"""

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from labeling.consolidation.boxes import mean_iou
from labeling.consolidation.masks import mask_iou
from labeling.consolidation.matching import box_iou
from labeling.task_types.image_segmentation import default_color, load_label_map, save_label_png

BOX_MEAN_IOU_TARGET = 0.6
MASK_MEAN_IOU_TARGET = 0.7


class AutoLabelingTarget(Protocol):
    metric: str
    threshold: float

    def score(self, predicted: dict[str, Any], truth: dict[str, Any]) -> float:
        """How well a predicted label value matches a (human) label value, in [0, 1]."""

    def passes(self, predicted: dict[str, Any], truth: dict[str, Any]) -> bool: ...

    def value_problem(self, value: dict[str, Any], labels: list[str]) -> str:
        """Why a model's label value is not one of this type's values, or "" (issue 19)."""


def _box_rows(value: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    boxes = value.get("boxes", [])
    rows = np.array([[b["left"], b["top"], b["width"], b["height"]] for b in boxes], dtype=float)
    classes = np.array([b["class_id"] for b in boxes], dtype=int)
    return rows.reshape(-1, 4), classes


@dataclass(frozen=True)
class BoxesTarget:
    """Mean IoU of one-to-one matched boxes; boxes of different classes never match."""

    metric: str = "mean-iou"
    threshold: float = BOX_MEAN_IOU_TARGET

    def score(self, predicted: dict[str, Any], truth: dict[str, Any]) -> float:
        p_rows, p_classes = _box_rows(predicted)
        t_rows, t_classes = _box_rows(truth)
        if len(p_rows) and len(t_rows):
            same = t_classes[:, None] == p_classes[None, :]
            if not same.all():
                return _class_aware(p_rows, p_classes, t_rows, t_classes)
        return mean_iou(p_rows, t_rows)

    def passes(self, predicted: dict[str, Any], truth: dict[str, Any]) -> bool:
        return self.score(predicted, truth) >= self.threshold

    def value_problem(self, value: dict[str, Any], labels: list[str]) -> str:
        size = value.get("image_size")
        if not isinstance(size, dict) or not all(
            isinstance(size.get(k), int) and size[k] > 0 for k in ("width", "height")
        ):
            return "image_size must hold a positive width and height"
        boxes = value.get("boxes")
        if not isinstance(boxes, list):
            return "boxes must be a list"
        for index, box in enumerate(boxes):
            if not isinstance(box, dict):
                return f"boxes[{index}] is not an object"
            class_id = box.get("class_id")
            if not isinstance(class_id, int) or not 0 <= class_id < len(labels):
                return f"boxes[{index}].class_id is not one of the job's labels"
            if box.get("label") != labels[class_id]:
                return f"boxes[{index}].label is not label {class_id} of the job"
            numbers = [box.get(k) for k in ("left", "top", "width", "height")]
            if not all(isinstance(n, int | float) for n in numbers):
                return f"boxes[{index}] needs left, top, width and height"
            left, top, width, height = numbers
            if width < 1 or height < 1 or left < 0 or top < 0:
                return f"boxes[{index}] has no area or starts outside the image"
            if left + width > size["width"] + 1 or top + height > size["height"] + 1:
                return f"boxes[{index}] ends outside the image"
        return ""

    def value_from_prediction(
        self,
        *,
        boxes: np.ndarray,
        classes: np.ndarray,
        scores: np.ndarray,
        labels: list[str],
        image_size: dict[str, int],
    ) -> dict[str, Any]:
        """A model's boxes (x, y, w, h), class indices and scores -> a box label value."""
        return {
            "image_size": image_size,
            "boxes": [
                {
                    "label": labels[int(c)],
                    "class_id": int(c),
                    "left": round(float(b[0])),
                    "top": round(float(b[1])),
                    "width": max(1, round(float(b[2]))),
                    "height": max(1, round(float(b[3]))),
                    "confidence": round(float(s), 4),
                }
                for b, c, s in zip(np.asarray(boxes).reshape(-1, 4), classes, scores, strict=True)
            ],
        }


def _class_aware(p_rows, p_classes, t_rows, t_classes) -> float:
    scores = box_iou(t_rows, p_rows) * (t_classes[:, None] == p_classes[None, :])
    rows, cols = linear_sum_assignment(-scores)
    return float(scores[rows, cols].sum() / max(len(t_rows), len(p_rows)))


@dataclass(frozen=True)
class MasksTarget:
    """Mean IoU over the classes present in either label map (background excluded)."""

    metric: str = "mean-iou"
    threshold: float = MASK_MEAN_IOU_TARGET

    def score(self, predicted: dict[str, Any], truth: dict[str, Any]) -> float:
        n_classes = max(len(predicted.get("color_map", {})), len(truth.get("color_map", {})))
        return mask_iou(_index_map(predicted), _index_map(truth), n_classes)

    def passes(self, predicted: dict[str, Any], truth: dict[str, Any]) -> bool:
        return self.score(predicted, truth) >= self.threshold

    def value_problem(self, value: dict[str, Any], labels: list[str]) -> str:
        for key in ("ref", "index_ref"):
            ref = value.get(key)
            if not isinstance(ref, str) or not ref.startswith("label-maps/") or ".." in ref:
                return f"{key} must name a label map under label-maps/"
        color_map = value.get("color_map")
        if not isinstance(color_map, dict) or set(color_map) != set(labels):
            return "color_map must give a colour to each of the job's labels"
        return ""

    def value_from_prediction(
        self, *, index_map: np.ndarray, confidence: float, labels: list[str]
    ) -> dict[str, Any]:
        """A model's label map (0 none, k + 1 label k) -> a segmentation label value."""
        index_map = np.asarray(index_map, dtype=np.uint8)
        palette = np.zeros((len(labels) + 1, 3), dtype=np.uint8)
        palette[0] = (255, 255, 255)
        color_map = {label: default_color(i) for i, label in enumerate(labels)}
        for i, label in enumerate(labels):
            palette[i + 1] = [int(color_map[label][j : j + 2], 16) for j in (1, 3, 5)]
        counts = np.bincount(index_map.ravel(), minlength=len(labels) + 1)
        return {
            "image_size": {"width": int(index_map.shape[1]), "height": int(index_map.shape[0])},
            "ref": save_label_png(palette[index_map], "RGB", "auto-"),
            "index_ref": save_label_png(index_map, "L", "auto-index-"),
            "color_map": color_map,
            "pixels": {labels[k - 1]: int(counts[k]) for k in range(1, len(counts)) if counts[k]},
            "model_confidence": round(float(confidence), 6),
        }


def _index_map(value: dict[str, Any]) -> np.ndarray:
    if "index_map" in value:
        return np.asarray(value["index_map"])
    return load_label_map(value["index_ref"])


_TARGETS: dict[str, AutoLabelingTarget] = {
    "image-bounding-box": BoxesTarget(),
    "image-bounding-box-adjustment": BoxesTarget(),
    "image-semantic-segmentation": MasksTarget(),
}


def auto_labeling_target(task_type_key: str) -> AutoLabelingTarget | None:
    """The metric and threshold automated labeling must reach for this task type, if any."""
    return _TARGETS.get(task_type_key)
