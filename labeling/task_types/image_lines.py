"""Polylines and two-point lines on an image.

Answers are what ``<crowd-polyline>`` and ``<crowd-line>`` submit::

    {"crowdPolyline": {"polylines": [{"label", "vertices": [{"x", "y"}, ...]}],
                       "inputImageProperties": {"width", "height"}}}
    {"crowdLine": {"lines": [{"label", "vertices": [{"x", "y"}, {"x", "y"}]}],
                   "inputImageProperties": {"width", "height"}}}

A polyline has 2 or more vertices (it may cross itself), a line exactly 2. Consolidation
matches lines of the same label across workers by their mean distance and averages them
(``labeling.consolidation.polylines``).
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.polylines import DEFAULT_RADIUS_SHARE, consolidate_polylines
from labeling.task_types import answer_fields as f
from labeling.task_types.base import AnswerProblem, register_task_type
from labeling.task_types.image_objects import ObjectsOnImage, image_vertices, vertex_arrays


@dataclass(frozen=True)
class Polylines(ObjectsOnImage):
    key: str = "image-polyline"
    title: str = "Image: polylines"
    media: str = "image"
    manifest_type: str = "groundtruth/polyline"
    template_name: str = "tasks/image_polyline.html"
    consolidation: str = "polylines-mean"
    export_formats: tuple[str, ...] = ()
    list_key: str = "polylines"
    default_name: str = "crowdPolyline"
    two_points: bool = False

    def parse_object(
        self, value: Any, size: dict[str, int], where: str, labels: list[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise AnswerProblem(f"{where} must be an object")
        exactly = 2 if self.two_points else None
        points = image_vertices(value, size, where, at_least=2, exactly=exactly)
        if len(set(points)) < 2:
            raise AnswerProblem(f"{where} has no length (all its points are one point)")
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
        radius = DEFAULT_RADIUS_SHARE * math.hypot(size["width"], size["height"])
        return consolidate_polylines(
            [vertex_arrays(drawn) for drawn in objects],
            classes,
            class_count,
            radius=radius,
            two_points=self.two_points,
            weights=weights,
        )

    def consolidated_geometry(self, result: Any) -> dict[str, Any]:
        return {
            "vertices": [
                {"x": round(float(x), 2), "y": round(float(y), 2)} for x, y in result.vertices
            ]
        }

    def manifest_geometry(self, value: dict[str, Any]) -> dict[str, Any]:
        return {"vertices": value["vertices"]}


IMAGE_POLYLINE = register_task_type(Polylines())
IMAGE_LINE = register_task_type(
    Polylines(
        key="image-line",
        title="Image: lines (two points)",
        manifest_type="groundtruth/line",
        template_name="tasks/image_line.html",
        consolidation="lines-mean",
        list_key="lines",
        default_name="crowdLine",
        two_points=True,
    )
)
