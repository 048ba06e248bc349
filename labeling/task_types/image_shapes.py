"""Polygons and keypoints on an image.

Answers are what ``<crowd-polygon>`` and ``<crowd-keypoint>`` submit::

    {"annotatedResult": {"polygons": [{"label", "vertices": [{"x", "y"}, ...]}],
                         "inputImageProperties": {"width", "height"}}}
    {"annotatedResult": {"keypoints": [{"label", "x", "y"}],
                         "inputImageProperties": {"width", "height"}}}
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.keypoints import DEFAULT_RADIUS_SHARE, consolidate_keypoints
from labeling.consolidation.polygons import consolidate_polygons, polygon_area, polygon_bbox
from labeling.task_types import answer_fields as f
from labeling.task_types.base import AnswerProblem, Consolidated, ParsedAnswer, register_task_type
from labeling.task_types.classification import _check_image_ref

MAX_POLYGONS = 2_000
MAX_VERTICES = 2_000
MAX_KEYPOINTS = 2_000


def _point(value: Any, size: dict[str, int], where: str) -> tuple[float, float]:
    if not isinstance(value, dict):
        raise AnswerProblem(f"{where} must be an object with x and y")
    x = f.number(f.require(value, "x", where), f"{where}.x")
    y = f.number(f.require(value, "y", where), f"{where}.y")
    f.inside(x, y, size, where)
    return round(x, 2), round(y, 2)


def _class_map(labels: list[str]) -> dict[str, str]:
    return {str(index): name for index, name in enumerate(labels)}


@dataclass(frozen=True)
class Polygons:
    key: str = "image-polygon"
    title: str = "Image: polygons"
    media: str = "image"
    manifest_type: str = "groundtruth/polygon"
    template_name: str = "tasks/image_polygon.html"
    consolidation: str = "polygons-pixel-vote"
    coco_kind: str = "polygons"
    export_formats: tuple[str, ...] = ("coco",)

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "polygons")
        name = name or "annotatedResult"
        size = f.image_size(inner, name)
        polygons = f.items(
            f.require(inner, "polygons", name), f"{name}.polygons", limit=MAX_POLYGONS
        )
        parsed = []
        for index, polygon in enumerate(polygons):
            where = f"{name}.polygons[{index}]"
            if not isinstance(polygon, dict):
                raise AnswerProblem(f"{where} must be an object")
            vertices = f.items(
                f.require(polygon, "vertices", where), f"{where}.vertices", limit=MAX_VERTICES
            )
            if len(vertices) < 3:
                raise AnswerProblem(
                    f"{where}.vertices needs at least 3 points, not {len(vertices)}"
                )
            points = [_point(v, size, f"{where}.vertices[{i}]") for i, v in enumerate(vertices)]
            if polygon_area(np.array(points)) <= 0:
                raise AnswerProblem(f"{where} has no area (its points are on one line)")
            parsed.append(
                {
                    "label": f.label(f.require(polygon, "label", where), labels, f"{where}.label"),
                    "vertices": [{"x": x, "y": y} for x, y in points],
                }
            )
        return ParsedAnswer(answer={name: {"polygons": parsed, "inputImageProperties": size}})

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> Consolidated:
        inners = [next(iter(answer.values())) for answer in answers]
        index = {name: i for i, name in enumerate(labels)}
        shapes = [
            [np.array([[v["x"], v["y"]] for v in p["vertices"]]) for p in inner["polygons"]]
            for inner in inners
        ]
        classes = [[index[p["label"]] for p in inner["polygons"]] for inner in inners]
        result = consolidate_polygons(shapes, classes, len(labels))
        polygons = [
            {
                "label": labels[p.class_id],
                "class_id": p.class_id,
                "vertices": [{"x": float(x), "y": float(y)} for x, y in p.vertices],
                "confidence": round(p.confidence, 4),
            }
            for p in result
        ]
        empty_share = sum(1 for inner in inners if not inner["polygons"]) / len(inners)
        confidence = float(np.mean([p.confidence for p in result])) if result else empty_share
        return Consolidated(
            value={"image_size": inners[0]["inputImageProperties"], "polygons": polygons},
            confidence=round(confidence, 6),
            method=self.consolidation,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        size = value["image_size"]
        label_value = {
            "image_size": [{"width": size["width"], "height": size["height"], "depth": 3}],
            "annotations": [
                {"class_id": p["class_id"], "vertices": p["vertices"]} for p in value["polygons"]
            ],
        }
        return label_value, {
            "objects": [{"confidence": p["confidence"]} for p in value["polygons"]],
            "class-map": _class_map(labels),
        }

    def export_objects(self, value: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
        objects = []
        for polygon in value["polygons"]:
            points = np.array([[v["x"], v["y"]] for v in polygon["vertices"]])
            objects.append(
                {
                    "label": polygon["label"],
                    "class_id": polygon["class_id"],
                    "bbox": [round(float(v), 2) for v in polygon_bbox(points)],
                    "polygon": points.round(2).tolist(),
                    "area": round(polygon_area(points), 2),
                    "confidence": polygon["confidence"],
                }
            )
        return objects


@dataclass(frozen=True)
class Keypoints:
    key: str = "image-keypoint"
    title: str = "Image: keypoints"
    media: str = "image"
    manifest_type: str = "groundtruth/keypoint"
    template_name: str = "tasks/image_keypoint.html"
    consolidation: str = "keypoints-mean"
    coco_kind: str = "keypoints"
    export_formats: tuple[str, ...] = ("coco",)

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "keypoints")
        name = name or "annotatedResult"
        size = f.image_size(inner, name)
        points = f.items(
            f.require(inner, "keypoints", name), f"{name}.keypoints", limit=MAX_KEYPOINTS
        )
        parsed = []
        for index, point in enumerate(points):
            where = f"{name}.keypoints[{index}]"
            x, y = _point(point, size, where)
            label = f.label(f.require(point, "label", where), labels, f"{where}.label")
            parsed.append({"label": label, "x": x, "y": y})
        return ParsedAnswer(answer={name: {"keypoints": parsed, "inputImageProperties": size}})

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> Consolidated:
        inners = [next(iter(answer.values())) for answer in answers]
        index = {name: i for i, name in enumerate(labels)}
        size = inners[0]["inputImageProperties"]
        points = [np.array([[p["x"], p["y"]] for p in inner["keypoints"]]) for inner in inners]
        classes = [np.array([index[p["label"]] for p in inner["keypoints"]]) for inner in inners]
        radius = DEFAULT_RADIUS_SHARE * math.hypot(size["width"], size["height"])
        result = consolidate_keypoints(points, classes, len(labels), radius=radius)
        keypoints = [
            {
                "label": labels[p.class_id],
                "class_id": p.class_id,
                "x": round(p.x, 2),
                "y": round(p.y, 2),
                "confidence": round(p.confidence, 4),
            }
            for p in result
        ]
        confidence = float(np.mean([p.confidence for p in result])) if result else 0.0
        return Consolidated(
            value={"image_size": size, "keypoints": keypoints},
            confidence=round(confidence, 6),
            method=self.consolidation,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        size = value["image_size"]
        label_value = {
            "image_size": [{"width": size["width"], "height": size["height"], "depth": 3}],
            "annotations": [
                {"class_id": p["class_id"], "x": p["x"], "y": p["y"]} for p in value["keypoints"]
            ],
        }
        return label_value, {
            "objects": [{"confidence": p["confidence"]} for p in value["keypoints"]],
            "class-map": _class_map(labels),
        }

    def export_objects(self, value: dict[str, Any], labels: list[str]) -> list[dict[str, Any]]:
        points = value["keypoints"]
        if not points:
            return []
        xs = [p["x"] for p in points]
        ys = [p["y"] for p in points]
        return [
            {
                "label": "object",
                "class_id": 0,
                "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
                "keypoints": points,
            }
        ]


IMAGE_POLYGON = register_task_type(Polygons())
IMAGE_KEYPOINT = register_task_type(Keypoints())
