"""A stored label or answer as the task type's own element takes it back as its initial value:
what a reviewer starts from (the consolidated label) and what a labeler revises (their answer).

Each element reads a different shape (``initial-value`` of boxes, polygons, points, spans,
video tracks, a label map; a chosen class). Custom templates without a named element start
empty; docs/review.md says so.
"""

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from labeling.models import Job
from labeling.task_types import get_task_type
from labeling.task_types.base import AnswerProblem
from labeling.task_types.image_segmentation import default_color, load_label_map

# Keys of a consolidated object that are not part of a worker's answer.
_CONSOLIDATION_KEYS = {"class_id", "confidence"}


def _strip(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in o.items() if k not in _CONSOLIDATION_KEYS} for o in objects]


def answer_of_value(*, job: Job, value: Any) -> dict[str, Any] | None:
    """The answer a worker would have sent for the consolidated ``value``, or None when the
    task type has no way back from its consolidated shape (checked by the task type)."""
    task_type = get_task_type(job.task_type)
    if not isinstance(value, dict):
        return None
    answer: dict[str, Any] | None = None
    list_key = getattr(task_type, "list_key", None)
    if "frame_count" in value and "image_size" in value:
        answer = _video_answer(value)
    elif "boxes" in value and "image_size" in value:
        answer = {
            "annotatedResult": {
                "boundingBoxes": _strip(value["boxes"]),
                "inputImageProperties": value["image_size"],
            }
        }
    elif list_key and list_key in value and "image_size" in value:
        answer = {
            task_type.default_name: {
                list_key: _strip(value[list_key]),
                "inputImageProperties": value["image_size"],
            }
        }
    elif "entities" in value:
        answer = {"entities": value["entities"]}
    elif "labels" in value and isinstance(value["labels"], list):
        answer = {"labels": value["labels"]}
    elif isinstance(value.get("label"), str) and getattr(task_type, "answer_is_one_class", False):
        answer = {"label": value["label"]}
    elif task_type.key == "custom":
        answer = value
    if answer is None:
        return None
    try:
        return task_type.parse_answer(answer, list(job.labels)).answer
    except AnswerProblem:
        return None


def _video_answer(value: dict[str, Any]) -> dict[str, Any] | None:
    """A consolidated video label as the video element answers: every frame of a consolidated
    track is one of its keyframes; a detection's frames keep their boxes."""
    common = {"frameCount": value["frame_count"], "inputImageProperties": value["image_size"]}
    if isinstance(value.get("tracks"), list):
        tracks = [
            {"objectId": t["object_id"], "label": t["label"], "keyframes": t["frames"]}
            for t in value["tracks"]
        ]
        return {"annotatedResult": {"tracks": tracks, **common}}
    if isinstance(value.get("frames"), list):
        frames = [
            {"frame": frame["frame"], "boundingBoxes": _strip(frame["boxes"])}
            for frame in value["frames"]
        ]
        return {"annotatedResult": {"frames": frames, **common}}
    return None


def _video_boxes(value: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = [
        (frame["frame"], t["label"], frame["left"], frame["top"], frame["width"], frame["height"])
        for t in value.get("tracks") or []
        for frame in t["frames"]
    ] + [
        (frame["frame"], box["label"], box["left"], box["top"], box["width"], box["height"])
        for frame in value.get("frames") or []
        for box in frame["boxes"]
    ]
    return sorted(rows, key=lambda row: (row[0], row[1], *row[2:]))


def same_video_boxes(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two consolidated video labels with the same boxes on the same frames, to a pixel."""
    rows_a, rows_b = _video_boxes(a), _video_boxes(b)
    return len(rows_a) == len(rows_b) and all(
        x[:2] == y[:2] and all(abs(p - q) <= 1 for p, q in zip(x[2:], y[2:], strict=True))
        for x, y in zip(rows_a, rows_b, strict=True)
    )


def _mask_initial(index_ref: str, colors: dict[str, str], labels: list[str]) -> dict[str, Any]:
    """A label map (an index PNG: 0 none, k + 1 label k) as the segmentation element's
    ``initial-value``: an RGB PNG in the labels' colours (white for none), inline."""
    index_map = load_label_map(index_ref)
    palette = np.full((len(labels) + 1, 3), 255, dtype=np.uint8)
    mappings = {}
    for k, label in enumerate(labels):
        color = colors.get(label) or default_color(k)
        palette[k + 1] = [int(color[j : j + 2], 16) for j in (1, 3, 5)]
        mappings[label] = {"color": color}
    buffer = io.BytesIO()
    rgb = palette[np.clip(index_map, 0, len(labels))]
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG")
    src = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"initial": {"src": src, "labelMappings": mappings}}


def mask_overlay(index_ref: str, colour: str, alpha: int = 110) -> str:
    """A label map as a see-through overlay in one colour (a worker's, on the item page): every
    labelled pixel ``colour`` at ``alpha``, the rest clear; an inline PNG."""
    index_map = load_label_map(index_ref)
    rgba = np.zeros((*index_map.shape[:2], 4), dtype=np.uint8)
    labelled = index_map > 0 if index_map.ndim == 2 else index_map[..., :3].min(axis=-1) < 255
    rgba[labelled] = [*(int(colour[j : j + 2], 16) for j in (1, 3, 5)), alpha]
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def label_start(*, job: Job, value: Any) -> dict[str, Any] | None:
    """What the reviewer's element starts from for the consolidated ``value`` (see
    ``element_initial``), or None when the task type has no way back from it."""
    if isinstance(value, dict) and isinstance(value.get("index_ref"), str):
        return _mask_initial(value["index_ref"], value.get("color_map") or {}, list(job.labels))
    answer = answer_of_value(job=job, value=value)
    return None if answer is None else element_initial(answer, labels=list(job.labels))


def element_initial(
    answer: dict[str, Any] | None, *, labels: list[str] | None = None
) -> dict[str, Any]:
    """How the page hands ``answer`` (a parsed answer) to the task's element:
    ``{"initial": <initial-value JSON>}`` for drawing, span, video and mask elements,
    ``{"choose": [labels]}`` for classifiers, ``{}`` when there is nothing to start from."""
    if not answer:
        return {}
    # A verifier's free-text feedback sits beside the element's answer.
    answer = {key: value for key, value in answer.items() if key != "feedback"}
    inner = answer
    if len(answer) == 1:
        (only,) = answer.values()
        if isinstance(only, dict):
            inner = only
    for key in ("boundingBoxes", "polygons", "keypoints", "polylines", "lines"):
        if isinstance(inner.get(key), list):
            return {"initial": inner[key]}
    if isinstance(inner.get("entities"), list):
        return {"initial": {"entities": inner["entities"]}}
    if isinstance(inner.get("tracks"), list):
        return {"initial": inner["tracks"]}
    if isinstance(inner.get("frames"), list) and "frameCount" in inner:
        # The detection element reads tracks too: each box one object on its one frame.
        return {
            "initial": [
                {"label": box["label"], "keyframes": [{"frame": frame["frame"], **box}]}
                for frame in inner["frames"]
                for box in frame["boundingBoxes"]
            ]
        }
    image = inner.get("labeledImage")
    if isinstance(image, dict) and isinstance(image.get("ref"), str) and labels is not None:
        colors = {k: v["color"] for k, v in (inner.get("labelMappings") or {}).items()}
        return _mask_initial(image["ref"], colors, labels)
    if isinstance(inner.get("label"), str):
        return {"choose": [inner["label"]]}
    if isinstance(inner.get("labels"), list):
        return {"choose": inner["labels"]}
    return {}
