"""The skeleton shared by task types whose answer is a list of labelled objects on one image.

Polygons, keypoints, polylines and lines all submit
``{name: {<list_key>: [{"label", ...geometry}], "inputImageProperties": {"width", "height"}}}``,
consolidate with a pure strategy from ``labeling.consolidation`` that returns objects with a
``class_id`` and a ``confidence``, and appear in the manifest as ``annotations`` with a
``class-map``. A type adds only how one object is parsed, which strategy consolidates, and
which fields make an object's geometry.
"""

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from labeling.task_types import answer_fields as f
from labeling.task_types import compared
from labeling.task_types.base import AnswerProblem, Consolidated, ParsedAnswer
from labeling.task_types.classification import _check_image_ref

MAX_OBJECTS = 2_000
MAX_VERTICES = 2_000


class ConsolidatedObject(Protocol):
    """What a consolidation strategy returns per object (plus its geometry)."""

    class_id: int
    confidence: float


def image_point(value: Any, size: dict[str, int], where: str) -> tuple[float, float]:
    """An ``{x, y}`` inside the image, rounded to hundredths of a pixel."""
    if not isinstance(value, dict):
        raise AnswerProblem(f"{where} must be an object with x and y")
    x = f.number(f.require(value, "x", where), f"{where}.x")
    y = f.number(f.require(value, "y", where), f"{where}.y")
    f.inside(x, y, size, where)
    return round(x, 2), round(y, 2)


def image_vertices(
    shape: dict[str, Any],
    size: dict[str, int],
    where: str,
    *,
    at_least: int,
    exactly: int | None = None,
) -> list[tuple[float, float]]:
    """The points of ``shape["vertices"]``, counted before any of them is checked."""
    vertices = f.items(f.require(shape, "vertices", where), f"{where}.vertices", limit=MAX_VERTICES)
    if exactly is not None and len(vertices) != exactly:
        raise AnswerProblem(f"{where}.vertices must be {exactly} points, not {len(vertices)}")
    if len(vertices) < at_least:
        raise AnswerProblem(
            f"{where}.vertices needs at least {at_least} points, not {len(vertices)}"
        )
    return [image_point(v, size, f"{where}.vertices[{i}]") for i, v in enumerate(vertices)]


def vertex_arrays(objects: list[dict[str, Any]]) -> list[np.ndarray]:
    """Each object's vertices as an (n, 2) array."""
    return [np.array([[v["x"], v["y"]] for v in o["vertices"]]) for o in objects]


def class_map(labels: list[str]) -> dict[str, str]:
    return {str(index): name for index, name in enumerate(labels)}


class ObjectsOnImage:
    """Mixin of the (frozen dataclass) task types; they define the fields and hooks below."""

    consolidation: str
    list_key: str  # the answer's key for its list of objects
    default_name: str  # the answer's outer key when the template gives none
    # Issue 19: consolidate_answers takes the workers' stored reliabilities as weights.
    weighted_by_reliability = True

    # --- Hooks ---------------------------------------------------------------------------------
    def parse_object(
        self, value: Any, size: dict[str, int], where: str, labels: list[str]
    ) -> dict[str, Any]:
        """One object of an answer, checked; raise AnswerProblem naming what is wrong."""
        raise NotImplementedError

    def consolidate_objects(
        self,
        objects: list[list[dict[str, Any]]],
        classes: list[list[int]],
        class_count: int,
        size: dict[str, int],
        weights: np.ndarray | None = None,
    ) -> Sequence[ConsolidatedObject]:
        """Run the strategy over every worker's objects and class ids (``weights``: one per
        worker, their stored reliabilities, or None for a plain vote)."""
        raise NotImplementedError

    def consolidated_geometry(self, result: Any) -> dict[str, Any]:
        """The geometry fields of one consolidated object."""
        raise NotImplementedError

    def manifest_geometry(self, value: dict[str, Any]) -> dict[str, Any]:
        """The geometry fields of one consolidated object in the manifest's annotations."""
        raise NotImplementedError

    def confidence_of_nothing(self, objects: list[list[dict[str, Any]]]) -> float:
        """The confidence when no object came out: the share of workers who drew none."""
        return sum(1 for drawn in objects if not drawn) / len(objects)

    # --- The skeleton --------------------------------------------------------------------------
    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, self.list_key)
        name = name or self.default_name
        size = f.image_size(inner, name)
        values = f.items(
            f.require(inner, self.list_key, name), f"{name}.{self.list_key}", limit=MAX_OBJECTS
        )
        parsed = [
            self.parse_object(value, size, f"{name}.{self.list_key}[{index}]", labels)
            for index, value in enumerate(values)
        ]
        return ParsedAnswer(answer={name: {self.list_key: parsed, "inputImageProperties": size}})

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        weights: list[float] | None = None,
    ) -> Consolidated:
        inners = [next(iter(answer.values())) for answer in answers]
        index = {name: i for i, name in enumerate(labels)}
        size = inners[0]["inputImageProperties"]
        objects = [inner[self.list_key] for inner in inners]
        classes = [[index[o["label"]] for o in drawn] for drawn in objects]
        result = self.consolidate_objects(
            objects,
            classes,
            len(labels),
            size,
            weights=None if weights is None else np.asarray(weights, dtype=np.float64),
        )
        consolidated = [
            {
                "label": labels[o.class_id],
                "class_id": o.class_id,
                **self.consolidated_geometry(o),
                "confidence": round(o.confidence, 4),
            }
            for o in result
        ]
        confidence = (
            float(np.mean([o.confidence for o in result]))
            if result
            else self.confidence_of_nothing(objects)
        )
        return Consolidated(
            value={"image_size": size, self.list_key: consolidated},
            confidence=round(confidence, 6),
            method=self.consolidation,
        )

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return [drawn["label"] for drawn in value[self.list_key]]

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """Objects matched one to one (same label) by IoU (polygons) or closeness (points,
        lines); Σ similarity / max(n_a, n_b)."""
        return compared.objects_match(answer, other, self.list_key).score

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        size = value["image_size"]
        objects = value[self.list_key]
        label_value = {
            "image_size": [{"width": size["width"], "height": size["height"], "depth": 3}],
            "annotations": [
                {"class_id": o["class_id"], **self.manifest_geometry(o)} for o in objects
            ],
        }
        return label_value, {
            "objects": [{"confidence": o["confidence"]} for o in objects],
            "class-map": class_map(labels),
        }
