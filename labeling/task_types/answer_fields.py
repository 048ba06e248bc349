"""Checks shared by the image and video task types' answers; each error names its field path."""

import math
from typing import Any

from labeling.task_types.base import AnswerProblem

# No image or frame the platform takes is wider or taller than this (QUORUM_IMAGE_MAX_PIXELS
# bounds the area); it only keeps absurd numbers out of the stored answers.
MAX_SIDE = 100_000
# Drawing tools round to whole pixels but may spill a little past the edge.
EDGE_TOLERANCE = 2.0


def unwrap(answer: Any, inner_key: str) -> tuple[str, dict[str, Any]]:
    """``{"<element name>": {inner_key: ...}}`` or the bare inner form -> (name, inner)."""
    if isinstance(answer, dict) and inner_key not in answer and len(answer) == 1:
        ((name, inner),) = answer.items()
        if isinstance(inner, dict):
            return str(name), inner
    if not isinstance(answer, dict):
        raise AnswerProblem(f"the answer must be a JSON object with {inner_key!r}")
    return "", answer


def require(mapping: dict[str, Any], key: str, path: str) -> Any:
    if key not in mapping:
        raise AnswerProblem(f"{path}.{key} is missing")
    return mapping[key]


def number(value: Any, path: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnswerProblem(f"{path} must be a number, not {value!r}")
    if minimum is not None and value < minimum:
        raise AnswerProblem(f"{path} must be at least {minimum}, not {value!r}")
    if abs(value) > MAX_SIDE:
        raise AnswerProblem(f"{path} is out of range: {value!r}")
    return float(value)


def label(value: Any, labels: list[str], path: str) -> str:
    if not isinstance(value, str):
        raise AnswerProblem(f"{path} must be a label (a string), not {value!r}")
    if value not in labels:
        raise AnswerProblem(f"{path} {value!r} is not one of the job's labels: {', '.join(labels)}")
    return value


def items(value: Any, path: str, *, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise AnswerProblem(f"{path} must be a list")
    if len(value) > limit:
        raise AnswerProblem(f"{path} has {len(value)} entries; at most {limit} are taken")
    return value


def image_size(inner: dict[str, Any], path: str) -> dict[str, int]:
    """``inputImageProperties``: the natural size of the image the worker drew on."""
    properties = require(inner, "inputImageProperties", path)
    where = f"{path}.inputImageProperties"
    if not isinstance(properties, dict):
        raise AnswerProblem(f"{where} must be an object with width and height")
    width = number(require(properties, "width", where), f"{where}.width", minimum=1)
    height = number(require(properties, "height", where), f"{where}.height", minimum=1)
    if width != int(width) or height != int(height):
        raise AnswerProblem(f"{where} width and height must be whole pixels")
    return {"width": int(width), "height": int(height)}


def inside(x: float, y: float, size: dict[str, int], path: str) -> None:
    if not (
        -EDGE_TOLERANCE <= x <= size["width"] + EDGE_TOLERANCE
        and -EDGE_TOLERANCE <= y <= size["height"] + EDGE_TOLERANCE
    ):
        raise AnswerProblem(
            f"{path} ({x:g}, {y:g}) lies outside the {size['width']}x{size['height']} image"
        )


def attributes(value: Any, allowed: tuple[str, ...], path: str) -> dict[str, bool]:
    """Per-object flags such as occluded/truncated: only the allowed names, only booleans."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnswerProblem(f"{path} must be an object of true/false flags")
    for key, flag in value.items():
        if key not in allowed:
            raise AnswerProblem(f"{path}.{key} is not a known attribute ({', '.join(allowed)})")
        if not isinstance(flag, bool):
            raise AnswerProblem(f"{path}.{key} must be true or false")
    return {key: flag for key, flag in value.items() if flag}
