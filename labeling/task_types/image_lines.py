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
from labeling.task_types.base import AnswerProblem, Consolidated, ParsedAnswer, register_task_type
from labeling.task_types.classification import _check_image_ref
from labeling.task_types.image_shapes import _class_map, _point

MAX_LINES = 2_000
MAX_VERTICES = 2_000


@dataclass(frozen=True)
class Polylines:
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

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, self.list_key)
        name = name or self.default_name
        size = f.image_size(inner, name)
        lines = f.items(
            f.require(inner, self.list_key, name), f"{name}.{self.list_key}", limit=MAX_LINES
        )
        parsed = []
        for index, line in enumerate(lines):
            where = f"{name}.{self.list_key}[{index}]"
            if not isinstance(line, dict):
                raise AnswerProblem(f"{where} must be an object")
            vertices = f.items(
                f.require(line, "vertices", where), f"{where}.vertices", limit=MAX_VERTICES
            )
            if self.two_points and len(vertices) != 2:
                raise AnswerProblem(f"{where}.vertices must be 2 points, not {len(vertices)}")
            if len(vertices) < 2:
                raise AnswerProblem(
                    f"{where}.vertices needs at least 2 points, not {len(vertices)}"
                )
            points = [_point(v, size, f"{where}.vertices[{i}]") for i, v in enumerate(vertices)]
            if len(set(points)) < 2:
                raise AnswerProblem(f"{where} has no length (all its points are one point)")
            parsed.append(
                {
                    "label": f.label(f.require(line, "label", where), labels, f"{where}.label"),
                    "vertices": [{"x": x, "y": y} for x, y in points],
                }
            )
        return ParsedAnswer(answer={name: {self.list_key: parsed, "inputImageProperties": size}})

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
        lines = [
            [
                np.array([[v["x"], v["y"]] for v in line["vertices"]])
                for line in inner[self.list_key]
            ]
            for inner in inners
        ]
        classes = [[index[line["label"]] for line in inner[self.list_key]] for inner in inners]
        radius = DEFAULT_RADIUS_SHARE * math.hypot(size["width"], size["height"])
        result = consolidate_polylines(
            lines, classes, len(labels), radius=radius, two_points=self.two_points
        )
        consolidated = [
            {
                "label": labels[line.class_id],
                "class_id": line.class_id,
                "vertices": [
                    {"x": round(float(x), 2), "y": round(float(y), 2)} for x, y in line.vertices
                ],
                "confidence": round(line.confidence, 4),
            }
            for line in result
        ]
        empty_share = sum(1 for inner in inners if not inner[self.list_key]) / len(inners)
        confidence = float(np.mean([line.confidence for line in result])) if result else empty_share
        return Consolidated(
            value={"image_size": size, self.list_key: consolidated},
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
                {"class_id": line["class_id"], "vertices": line["vertices"]}
                for line in value[self.list_key]
            ],
        }
        return label_value, {
            "objects": [{"confidence": line["confidence"]} for line in value[self.list_key]],
            "class-map": _class_map(labels),
        }


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
