"""Polygons and keypoints on an image.

Answers are what ``<crowd-polygon>`` and ``<crowd-keypoint>`` submit::

    {"annotatedResult": {"polygons": [{"label", "vertices": [{"x", "y"}, ...]}],
                         "inputImageProperties": {"width", "height"}}}
    {"annotatedResult": {"keypoints": [{"label", "x", "y"}],
                         "inputImageProperties": {"width", "height"}}}

The answer's envelope, consolidation and manifest are ``image_objects.ObjectsOnImage``'s.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.keypoints import DEFAULT_RADIUS_SHARE, consolidate_keypoints
from labeling.consolidation.polygons import consolidate_polygons, polygon_area, polygon_bbox
from labeling.task_types import answer_fields as f
from labeling.task_types.base import AnswerProblem, register_task_type
from labeling.task_types.image_objects import (
    ObjectsOnImage,
    image_point,
    image_vertices,
    vertex_arrays,
)


@dataclass(frozen=True)
class Polygons(ObjectsOnImage):
    key: str = "image-polygon"
    title: str = "Image: polygons"
    media: str = "image"
    manifest_type: str = "groundtruth/polygon"
    template_name: str = "tasks/image_polygon.html"
    consolidation: str = "polygons-pixel-vote"
    coco_kind: str = "polygons"
    export_formats: tuple[str, ...] = ("coco",)
    list_key: str = "polygons"
    default_name: str = "annotatedResult"

    def parse_object(
        self, value: Any, size: dict[str, int], where: str, labels: list[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise AnswerProblem(f"{where} must be an object")
        points = image_vertices(value, size, where, at_least=3)
        if polygon_area(np.array(points)) <= 0:
            raise AnswerProblem(f"{where} has no area (its points are on one line)")
        return {
            "label": f.label(f.require(value, "label", where), labels, f"{where}.label"),
            "vertices": [{"x": x, "y": y} for x, y in points],
        }

    def consolidate_objects(
        self,
        objects: list[list[dict[str, Any]]],
        classes: list[list[int]],
        class_count: int,
        size: dict[str, int],
        weights: np.ndarray | None = None,
    ) -> list[Any]:
        return consolidate_polygons(
            [vertex_arrays(drawn) for drawn in objects], classes, class_count, weights=weights
        )

    def consolidated_geometry(self, result: Any) -> dict[str, Any]:
        return {"vertices": [{"x": float(x), "y": float(y)} for x, y in result.vertices]}

    def manifest_geometry(self, value: dict[str, Any]) -> dict[str, Any]:
        return {"vertices": value["vertices"]}

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
class Keypoints(ObjectsOnImage):
    key: str = "image-keypoint"
    title: str = "Image: keypoints"
    media: str = "image"
    manifest_type: str = "groundtruth/keypoint"
    template_name: str = "tasks/image_keypoint.html"
    consolidation: str = "keypoints-mean"
    coco_kind: str = "keypoints"
    export_formats: tuple[str, ...] = ("coco",)
    list_key: str = "keypoints"
    default_name: str = "annotatedResult"

    def parse_object(
        self, value: Any, size: dict[str, int], where: str, labels: list[str]
    ) -> dict[str, Any]:
        x, y = image_point(value, size, where)
        label = f.label(f.require(value, "label", where), labels, f"{where}.label")
        return {"label": label, "x": x, "y": y}

    def consolidate_objects(
        self,
        objects: list[list[dict[str, Any]]],
        classes: list[list[int]],
        class_count: int,
        size: dict[str, int],
        weights: np.ndarray | None = None,
    ) -> list[Any]:
        points = [np.array([[p["x"], p["y"]] for p in drawn]) for drawn in objects]
        radius = DEFAULT_RADIUS_SHARE * math.hypot(size["width"], size["height"])
        return consolidate_keypoints(
            points, [np.array(c) for c in classes], class_count, radius=radius, weights=weights
        )

    def consolidated_geometry(self, result: Any) -> dict[str, Any]:
        return {"x": round(result.x, 2), "y": round(result.y, 2)}

    def manifest_geometry(self, value: dict[str, Any]) -> dict[str, Any]:
        return {"x": value["x"], "y": value["y"]}

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
