"""Bounding boxes on an image: drawing them, and adjusting boxes an earlier job drew.

The answer is what ``<crowd-bounding-box>`` submits::

    {"annotatedResult": {"boundingBoxes": [{"label", "left", "top", "width", "height",
                                            "attributes": {"occluded": true}}],
                         "inputImageProperties": {"width", "height"}}}

(``attributes`` is Quorum's addition and optional.) Consolidated boxes come out in the
managed service's ``groundtruth/object-detection`` manifest shape.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labeling.consolidation.boxes import consolidate_boxes
from labeling.task_types import answer_fields as f
from labeling.task_types import compared
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    register_task_type,
)
from labeling.task_types.classification import _check_image_ref

MAX_BOXES = 5_000
BOX_ATTRIBUTES = ("occluded", "truncated")
OBJECT_DETECTION = "groundtruth/object-detection"


def weights_array(weights: list[float] | None) -> np.ndarray | None:
    """A task type's per-answer weights (issue 19) as the strategies take them."""
    return None if weights is None else np.asarray(weights, dtype=np.float64)


def parse_boxes(inner: dict[str, Any], labels: list[str], path: str) -> list[dict[str, Any]]:
    size = f.image_size(inner, path)
    boxes = f.items(
        f.require(inner, "boundingBoxes", path), f"{path}.boundingBoxes", limit=MAX_BOXES
    )
    parsed = []
    for index, box in enumerate(boxes):
        where = f"{path}.boundingBoxes[{index}]"
        if not isinstance(box, dict):
            raise AnswerProblem(f"{where} must be an object")
        left = f.number(f.require(box, "left", where), f"{where}.left")
        top = f.number(f.require(box, "top", where), f"{where}.top")
        width = f.number(f.require(box, "width", where), f"{where}.width", minimum=1)
        height = f.number(f.require(box, "height", where), f"{where}.height", minimum=1)
        f.inside(left, top, size, f"{where} top-left corner")
        f.inside(left + width, top + height, size, f"{where} bottom-right corner")
        entry = {
            "label": f.label(f.require(box, "label", where), labels, f"{where}.label"),
            "left": round(left),
            "top": round(top),
            "width": round(width),
            "height": round(height),
        }
        flags = f.attributes(box.get("attributes"), BOX_ATTRIBUTES, f"{where}.attributes")
        if flags:
            entry["attributes"] = flags
        parsed.append(entry)
    return parsed


def _consolidate(
    answers: list[dict[str, Any]], labels: list[str], weights: list[float] | None = None
) -> Consolidated:
    inners = [next(iter(answer.values())) for answer in answers]
    class_index = {name: index for index, name in enumerate(labels)}
    per_worker = [inner["boundingBoxes"] for inner in inners]
    boxes = [
        np.array([[b["left"], b["top"], b["width"], b["height"]] for b in worker], dtype=float)
        for worker in per_worker
    ]
    classes = [
        np.array([class_index[b["label"]] for b in worker], dtype=int) for worker in per_worker
    ]
    result = consolidate_boxes(boxes, classes, len(labels), weights=weights_array(weights))
    kept = []
    for row, class_id, confidence, members in zip(
        result.boxes, result.classes, result.confidences, result.members, strict=True
    ):
        flags = {}
        for name in BOX_ATTRIBUTES:
            votes = [per_worker[w][i].get("attributes", {}).get(name, False) for w, i in members]
            if sum(votes) * 2 > len(votes):
                flags[name] = True
        entry = {
            "label": labels[int(class_id)],
            "class_id": int(class_id),
            "left": round(float(row[0])),
            "top": round(float(row[1])),
            "width": max(1, round(float(row[2]))),
            "height": max(1, round(float(row[3]))),
            "confidence": round(float(confidence), 4),
        }
        if flags:
            entry["attributes"] = flags
        kept.append(entry)
    empty_share = sum(1 for worker in per_worker if not worker) / len(per_worker)
    confidence = float(result.confidences.mean()) if len(kept) else empty_share
    return Consolidated(
        value={"image_size": inners[0]["inputImageProperties"], "boxes": kept},
        confidence=round(confidence, 6),
        method="boxes-iou",
    )


def boxes_manifest_label(value: dict[str, Any], labels: list[str]) -> tuple[Any, dict[str, Any]]:
    size = value["image_size"]
    label_value = {
        "image_size": [{"width": size["width"], "height": size["height"], "depth": 3}],
        "annotations": [
            {
                "class_id": box["class_id"],
                "left": box["left"],
                "top": box["top"],
                "width": box["width"],
                "height": box["height"],
            }
            for box in value["boxes"]
        ],
    }
    metadata = {
        "objects": [{"confidence": box["confidence"]} for box in value["boxes"]],
        "class-map": {str(index): name for index, name in enumerate(labels)},
    }
    return label_value, metadata


def prior_boxes(line: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The boxes an earlier job wrote on ``line`` (its object-detection label attribute)."""
    for key, metadata in line.items():
        if not key.endswith("-metadata") or not isinstance(metadata, dict):
            continue
        if metadata.get("type") != OBJECT_DETECTION:
            continue
        attribute = key.removesuffix("-metadata")
        value = line.get(attribute)
        class_map = metadata.get("class-map") or {}
        if not isinstance(value, dict) or not isinstance(value.get("annotations"), list):
            continue
        boxes = []
        for box in value["annotations"]:
            name = class_map.get(str(box.get("class_id")), str(box.get("class_id")))
            boxes.append({"label": name, **{k: box[k] for k in ("left", "top", "width", "height")}})
        return boxes, attribute
    return [], ""


@dataclass(frozen=True)
class BoundingBoxes:
    key: str
    title: str
    template_name: str
    adjustment: bool = False
    media: str = "image"
    manifest_type: str = OBJECT_DETECTION
    consolidation: str = "boxes-iou"
    coco_kind: str = "boxes"
    export_formats: tuple[str, ...] = field(default=("coco", "voc", "yolo"))
    # Issue 19: consolidate_answers takes the workers' stored reliabilities as weights.
    weighted_by_reliability = True

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)
        if self.adjustment and not prior_boxes(line)[1]:
            raise SourceProblem(
                "an adjustment item needs the boxes of an earlier job: a label attribute whose "
                f'"-metadata" has "type": "{OBJECT_DETECTION}"'
            )

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "boundingBoxes")
        name = name or "annotatedResult"
        boxes = parse_boxes(inner, labels, name)
        size = f.image_size(inner, name)
        kept: dict[str, Any] = {"boundingBoxes": boxes, "inputImageProperties": size}
        modified = inner.get("initialValueModified")
        if modified is not None:
            if not isinstance(modified, bool):
                raise AnswerProblem(f"{name}.initialValueModified must be true or false")
            kept["initialValueModified"] = modified
        return ParsedAnswer(answer={name: kept})

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        weights: list[float] | None = None,
    ) -> Consolidated:
        result = _consolidate(answers, labels, weights)
        if not self.adjustment:
            return result
        # The managed service's "adjustment-status": adjusted when at least half of the
        # workers changed the earlier boxes (the element says so in initialValueModified).
        changed = sum(1 for a in answers if next(iter(a.values())).get("initialValueModified"))
        status = "adjusted" if changed and changed * 2 >= len(answers) else "unadjusted"
        return Consolidated(
            value={**result.value, "adjustment_status": status},
            confidence=result.confidence,
            method=result.method,
        )

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return [box["label"] for box in value["boxes"]]

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        label_value, metadata = boxes_manifest_label(value, labels)
        if "adjustment_status" in value:
            metadata["adjustment-status"] = value["adjustment_status"]
        return label_value, metadata

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """Boxes matched one to one by IoU (same label), Σ IoU / max(n_a, n_b)."""
        return compared.boxes_match(answer, other).score

    def export_objects(self, value: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "label": box["label"],
                "class_id": box["class_id"],
                "bbox": [box["left"], box["top"], box["width"], box["height"]],
                "confidence": box["confidence"],
                "attributes": box.get("attributes", {}),
            }
            for box in value["boxes"]
        ]

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        boxes, _ = prior_boxes(line) if self.adjustment else ([], "")
        return {"initial_boxes": boxes}


IMAGE_BOUNDING_BOX = register_task_type(
    BoundingBoxes(
        key="image-bounding-box",
        title="Image: bounding boxes",
        template_name="tasks/image_bounding_box.html",
    )
)
IMAGE_BOUNDING_BOX_ADJUSTMENT = register_task_type(
    BoundingBoxes(
        key="image-bounding-box-adjustment",
        title="Image: adjust earlier bounding boxes",
        template_name="tasks/image_bounding_box.html",
        adjustment=True,
    )
)
