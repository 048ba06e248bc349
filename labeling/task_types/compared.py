"""The drawing and span types' ``answer_similarity``: their answers and consolidated values
read into arrays for ``labeling.consolidation.similarity``.

Each function takes a parsed answer (``{name: {<list>, "inputImageProperties"}}`` or, for
spans, ``{"entities"}``) or a consolidated value (``{"image_size", <list>}``), in any mix,
so gold (answer vs. known answer), agreement (answer vs. answer) and reliability (answer
vs. consolidated value) all use the one measure.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import numpy as np

from labeling.consolidation import similarity as sim
from labeling.consolidation.tracks import interpolate


def _size_and_objects(
    value: dict[str, Any], list_key: str, consolidated_key: str
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    if "image_size" in value:  # a consolidated value
        return value["image_size"], value.get(consolidated_key) or []
    inner = next(iter(value.values())) if value else {}
    return inner.get("inputImageProperties") or {}, inner.get(list_key) or []


def _box_rows(boxes: list[dict[str, Any]]) -> tuple[np.ndarray, list[str]]:
    rows = np.array([[b["left"], b["top"], b["width"], b["height"]] for b in boxes], dtype=float)
    return rows.reshape(-1, 4), [b["label"] for b in boxes]


def boxes_match(answer: dict[str, Any], other: dict[str, Any]) -> sim.Match:
    _, a = _size_and_objects(answer, "boundingBoxes", "boxes")
    _, b = _size_and_objects(other, "boundingBoxes", "boxes")
    return sim.boxes_match(*_box_rows(a), *_box_rows(b))


def _vertices(objects: list[dict[str, Any]]) -> list[np.ndarray]:
    return [np.array([[v["x"], v["y"]] for v in o["vertices"]], dtype=float) for o in objects]


def _sigma(*sizes: dict[str, int]) -> float:
    size = next((s for s in sizes if s), {"width": 1, "height": 1})
    return sim.keypoint_sigma(size["width"], size["height"])


def objects_match(answer: dict[str, Any], other: dict[str, Any], list_key: str) -> sim.Match:
    """Polygons, keypoints, polylines or lines: ``list_key`` names the kind."""
    size_a, a = _size_and_objects(answer, list_key, list_key)
    size_b, b = _size_and_objects(other, list_key, list_key)
    labels_a, labels_b = [o["label"] for o in a], [o["label"] for o in b]
    if list_key == "polygons":
        return sim.polygons_match(_vertices(a), labels_a, _vertices(b), labels_b)
    sigma = _sigma(size_a, size_b)
    if list_key == "keypoints":
        points_a = np.array([[p["x"], p["y"]] for p in a], dtype=float).reshape(-1, 2)
        points_b = np.array([[p["x"], p["y"]] for p in b], dtype=float).reshape(-1, 2)
        return sim.keypoints_match(points_a, labels_a, points_b, labels_b, sigma=sigma)
    return sim.polylines_match(_vertices(a), labels_a, _vertices(b), labels_b, sigma=sigma)


def _span_rows(value: dict[str, Any], labels: list[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    entities = value.get("entities")
    if entities is None and value:  # the element form {"<name>": {"entities": [...]}}
        entities = (next(iter(value.values())) or {}).get("entities")
    rows = [[e["startOffset"], e["endOffset"], index.get(e["label"], -1)] for e in entities or []]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def spans_match(answer: dict[str, Any], other: dict[str, Any], labels: list[str]) -> sim.Match:
    return sim.spans_match(_span_rows(answer, labels), _span_rows(other, labels))


_MAPS_CACHED: ContextVar[bool] = ContextVar("label_maps_cached", default=False)


@contextmanager
def label_maps_cached() -> Iterator[None]:
    """Within it, the last few label maps read are kept: an agreement read compares each
    answer with several others. Outside it (a submit's gold score) every comparison reads
    both of its maps, so scoring a gold answer and an ordinary one read as many files."""
    token = _MAPS_CACHED.set(True)
    try:
        yield
    finally:
        _MAPS_CACHED.reset(token)
        _load_label_map.cache_clear()


@lru_cache(maxsize=4)
def _load_label_map(ref: str) -> np.ndarray:
    """A stored label map (written once under a new name, so a kept copy stays right)."""
    from labeling.task_types.image_segmentation import load_label_map

    array = load_label_map(ref)
    array.setflags(write=False)
    return array


def _label_map(value: dict[str, Any]) -> np.ndarray:
    from labeling.task_types.image_segmentation import load_label_map

    if "index_ref" in value:  # a consolidated value
        ref = value["index_ref"]
    else:
        ref = next(iter(value.values()))["labeledImage"]["ref"]
    return _load_label_map(ref) if _MAPS_CACHED.get() else load_label_map(ref)


def label_maps_similarity(
    answer: dict[str, Any], other: dict[str, Any], labels: list[str]
) -> float:
    return sim.label_map_similarity(_label_map(answer), _label_map(other), len(labels))


def _tracks(value: dict[str, Any]) -> tuple[int, list[tuple[str, dict[int, np.ndarray]]]]:
    """(frame count, [(label, {frame: box})]) of an answer's keyframes or a consolidated
    value's kept frames."""
    if "frame_count" in value:
        tracks = value.get("tracks") or []
        count, key = value["frame_count"], "frames"
    else:
        inner = next(iter(value.values()))
        tracks, count, key = inner.get("tracks") or [], inner["frameCount"], "keyframes"
    read = [
        (
            t["label"],
            {
                k["frame"]: np.array([k["left"], k["top"], k["width"], k["height"]], dtype=float)
                for k in t[key]
            },
        )
        for t in tracks
    ]
    return count, read


def tracks_match(answer: dict[str, Any], other: dict[str, Any]) -> sim.Match:
    count_a, a = _tracks(answer)
    count_b, b = _tracks(other)
    frames = max(count_a, count_b)
    dense_a = [interpolate(keyframes, frames) for _, keyframes in a]
    dense_b = [interpolate(keyframes, frames) for _, keyframes in b]
    return sim.tracks_match(dense_a, [x for x, _ in a], dense_b, [x for x, _ in b])


def _frames(value: dict[str, Any]) -> dict[int, tuple[np.ndarray, list[str]]]:
    if "frame_count" in value:
        return {fr["frame"]: _box_rows(fr["boxes"]) for fr in value.get("frames") or []}
    inner = next(iter(value.values()))
    return {fr["frame"]: _box_rows(fr["boundingBoxes"]) for fr in inner.get("frames") or []}


def frames_similarity(answer: dict[str, Any], other: dict[str, Any]) -> float:
    return sim.frames_boxes_similarity(_frames(answer), _frames(other))


_MEASURES = {
    "image-bounding-box": "box IoU, boxes matched one to one",
    "image-bounding-box-adjustment": "box IoU, boxes matched one to one",
    "image-polygon": "polygon IoU, polygons matched one to one",
    "image-keypoint": "keypoint closeness (OKS-like), points matched one to one",
    "image-polyline": "line closeness, lines matched one to one",
    "image-line": "line closeness, lines matched one to one",
    "image-semantic-segmentation": "mean per-class IoU of the label maps",
    "text-entity-recognition": "span F1, partial overlaps credited by Jaccard",
    "text-entity-recognition-overlapping": "span F1, partial overlaps credited by Jaccard",
    "video-object-tracking": "track IoU over frames, tracks matched one to one",
    "video-object-detection": "box IoU per frame, boxes matched one to one",
}


def similarity_measure(task_type: Any) -> str:
    """What a task type's ``answer_similarity`` measures, in words for the quality page."""
    return _MEASURES.get(task_type.key, "answer similarity")
