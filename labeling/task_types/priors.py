"""Earlier labels on an item's line, for the verification and adjustment of drawings.

An earlier job's output line carries its label attribute and ``<attribute>-metadata``, whose
``type`` names the shape: Quorum's export, and the managed service's output (the same shapes
for images; for video its ``<attribute>-ref`` to a sequence file of ``detection-annotations`` /
``tracking-annotations``, which is read too). Each drawing kind reads its shape into what
its element takes as ``initial-value`` (a list of objects, or a label map), and says whether
an answer left that earlier label as it was (the ``adjustment-status`` of the output).
"""

import base64
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from labeling.consolidation.tracks import interpolate
from labeling.data.storage import StorageError, storage_exists, storage_read
from labeling.task_types.image_segmentation import load_label_map

MAX_SEQUENCE_BYTES = 20 * 1024 * 1024
# Geometry read back from an answer matches the earlier label within this (rounding).
POINT_TOLERANCE = 0.05
BOX_TOLERANCE = 1.0


@dataclass(frozen=True)
class Prior:
    """An earlier label: the attribute it was under, its class names (class-map order, the
    viewer's labels) and the element's ``initial-value``."""

    attribute: str
    labels: list[str]
    initial: Any


def _class_names(metadata: dict[str, Any]) -> dict[str, str]:
    class_map = metadata.get("class-map")
    if not isinstance(class_map, dict):
        return {}
    return {str(k): str(v) for k, v in class_map.items()}


def _class_order(key: str) -> tuple[bool, int, str]:
    return (not key.isdigit(), int(key) if key.isdigit() else 0, key)


def _ordered_labels(names: dict[str, str], used: list[str]) -> list[str]:
    ordered = [names[k] for k in sorted(names, key=_class_order)]
    return list(dict.fromkeys([*ordered, *used]))


def _name(entry: dict[str, Any], names: dict[str, str]) -> str:
    for key in ("class_id", "class-id"):
        if key in entry:
            return names.get(str(entry[key]), str(entry[key]))
    for key in ("label", "class_name", "class-name"):
        if isinstance(entry.get(key), str):
            return entry[key]
    return ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _box(entry: dict[str, Any]) -> dict[str, float] | None:
    values = [_number(entry.get(k)) for k in ("left", "top", "width", "height")]
    if any(v is None for v in values):
        return None
    left, top, width, height = values
    return {"left": left, "top": top, "width": width, "height": height}


# --- readers: (label value, metadata) -> (initial-value, class names used) or None -------------


def _read_polygons(value: Any, metadata: dict[str, Any]) -> tuple[Any, list[str]] | None:
    if not isinstance(value, dict) or not isinstance(value.get("annotations"), list):
        return None
    names = _class_names(metadata)
    polygons = []
    for entry in value["annotations"]:
        if not isinstance(entry, dict):
            continue
        points = entry.get("vertices", entry.get("points"))
        if not isinstance(points, list):
            continue
        vertices = [
            {"x": float(p["x"]), "y": float(p["y"])}
            for p in points
            if isinstance(p, dict)
            and _number(p.get("x")) is not None
            and _number(p.get("y")) is not None
        ]
        if len(vertices) >= 3:
            polygons.append({"label": _name(entry, names), "vertices": vertices})
    return polygons, [p["label"] for p in polygons]


def _read_keypoints(value: Any, metadata: dict[str, Any]) -> tuple[Any, list[str]] | None:
    if not isinstance(value, dict) or not isinstance(value.get("annotations"), list):
        return None
    names = _class_names(metadata)
    points = [
        {"label": _name(entry, names), "x": float(entry["x"]), "y": float(entry["y"])}
        for entry in value["annotations"]
        if isinstance(entry, dict)
        and _number(entry.get("x")) is not None
        and _number(entry.get("y")) is not None
    ]
    return points, [p["label"] for p in points]


def _read_mask(value: Any, metadata: dict[str, Any]) -> tuple[Any, list[str]] | None:
    if not isinstance(value, str) or not value.strip():
        return None
    color_map = metadata.get("internal-color-map")
    if not isinstance(color_map, dict):
        return None
    mappings = {}
    for key in sorted(color_map, key=lambda k: _class_order(str(k))):
        entry = color_map[key]
        if str(key) == "0" or not isinstance(entry, dict):
            continue
        name, color = entry.get("class-name"), entry.get("hex-color")
        if isinstance(name, str) and isinstance(color, str) and len(color) == 7:
            mappings[name] = {"color": color.lower()}
    return {"ref": value.strip(), "labelMappings": mappings}, list(mappings)


def _sequence(value: Any, key: str) -> list[dict[str, Any]] | None:
    """The managed service's sequence file (``<attribute>-ref``): its frames under ``key``."""
    if not isinstance(value, str):
        return None
    try:
        document = json.loads(storage_read(value, max_bytes=MAX_SEQUENCE_BYTES))
    except (StorageError, ValueError):
        return None
    frames = document.get(key) if isinstance(document, dict) else None
    return frames if isinstance(frames, list) else None


def _frame_number(entry: dict[str, Any]) -> int | None:
    number = entry.get("frame-no", entry.get("frame"))
    if isinstance(number, str) and number.isdigit():
        number = int(number)
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def _read_detection(value: Any, metadata: dict[str, Any]) -> tuple[Any, list[str]] | None:
    names = _class_names(metadata)
    if isinstance(value, dict) and isinstance(value.get("frames"), list):
        frames = value["frames"]
    else:
        frames = _sequence(value, "detection-annotations")
        if frames is None:
            return None
    # The detection element reads tracks: each box one object on its one frame.
    tracks = []
    for frame in frames:
        number = _frame_number(frame) if isinstance(frame, dict) else None
        if number is None or not isinstance(frame.get("annotations"), list):
            continue
        for entry in frame["annotations"]:
            box = _box(entry) if isinstance(entry, dict) else None
            if box is not None:
                tracks.append(
                    {"label": _name(entry, names), "keyframes": [{"frame": number, **box}]}
                )
    return tracks, [t["label"] for t in tracks]


def _keyframes(frames: dict[int, dict[str, float]]) -> list[dict[str, Any]]:
    """A dense run of boxes as keyframes: the frames where the motion changes (and the ends of
    each run); the element interpolates the rest, so moving an object stays one drag."""
    numbers = sorted(frames)
    kept = []
    for position, number in enumerate(numbers):
        before = numbers[position - 1] if position else None
        after = numbers[position + 1] if position + 1 < len(numbers) else None
        if before is None or after is None or before != number - 1 or after != number + 1:
            kept.append(number)
            continue
        middle = {k: (frames[before][k] + frames[after][k]) / 2 for k in frames[number]}
        if any(abs(middle[k] - frames[number][k]) > 0.5 for k in middle):
            kept.append(number)
    return [{"frame": n, **frames[n]} for n in kept]


def _read_tracking(value: Any, metadata: dict[str, Any]) -> tuple[Any, list[str]] | None:
    names = _class_names(metadata)
    objects: dict[str, dict[str, Any]] = {}
    if isinstance(value, dict) and isinstance(value.get("tracks"), list):
        for index, track in enumerate(value["tracks"]):
            if not isinstance(track, dict) or not isinstance(track.get("frames"), list):
                continue
            frames = {}
            for entry in track["frames"]:
                number = _frame_number(entry) if isinstance(entry, dict) else None
                box = _box(entry) if number is not None else None
                if box is not None:
                    frames[number] = box
            key = str(track.get("object-id", index))
            objects[key] = {"label": _name(track, names), "frames": frames}
    else:
        sequence = _sequence(value, "tracking-annotations")
        if sequence is None:
            return None
        for frame in sequence:
            number = _frame_number(frame) if isinstance(frame, dict) else None
            if number is None or not isinstance(frame.get("annotations"), list):
                continue
            for entry in frame["annotations"]:
                box = _box(entry) if isinstance(entry, dict) else None
                if box is None:
                    continue
                key = str(entry.get("object-id", entry.get("object-name", "")))
                track = objects.setdefault(key, {"label": _name(entry, names), "frames": {}})
                track["frames"][number] = box
    tracks = [
        {"label": track["label"], "keyframes": _keyframes(track["frames"])}
        for track in objects.values()
        if track["frames"]
    ]
    return tracks, [t["label"] for t in tracks]


# --- whether an answer changed the earlier label ----------------------------------------------


def _close(a: list[tuple], b: list[tuple], tolerance: float) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0]
        and len(x) == len(y)
        and all(abs(p - q) <= tolerance for p, q in zip(x[1:], y[1:], strict=True))
        for x, y in zip(a, b, strict=True)
    )


def _polygon_rows(polygons: list[dict[str, Any]]) -> list[tuple]:
    return sorted(
        (p["label"], *(c for v in p["vertices"] for c in (round(v["x"], 2), round(v["y"], 2))))
        for p in polygons
    )


def _point_rows(points: list[dict[str, Any]]) -> list[tuple]:
    return sorted((p["label"], round(p["x"], 2), round(p["y"], 2)) for p in points)


def _track_rows(tracks: list[dict[str, Any]]) -> list[tuple]:
    """Every (label, frame, box) of tracks given by keyframes, interpolated between them."""
    rows = []
    for track in tracks:
        keyframes = {
            k["frame"]: np.array([k["left"], k["top"], k["width"], k["height"]], dtype=float)
            for k in track["keyframes"]
        }
        if not keyframes:
            continue
        dense = interpolate(keyframes, max(keyframes) + 1)
        for number in np.flatnonzero(~np.isnan(dense[:, 0])):
            rows.append((track["label"], float(number), *(round(float(v)) for v in dense[number])))
    return sorted(rows, key=lambda row: (row[1], row[0], *row[2:]))


def _detection_tracks(inner: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"label": box["label"], "keyframes": [{"frame": frame["frame"], **box}]}
        for frame in inner["frames"]
        for box in frame["boundingBoxes"]
    ]


def _mask_index(initial: dict[str, Any], labels: list[str]) -> np.ndarray | None:
    """The earlier map as an index map in the job's labels, as the element reads it: a pixel
    of a mapped label's colour is that label, every other pixel none."""
    try:
        data = storage_read(initial["ref"], max_bytes=settings.QUORUM_IMAGE_MAX_BYTES)
        with Image.open(io.BytesIO(data)) as image:
            rgba = np.asarray(image.convert("RGBA"))
    except (StorageError, UnidentifiedImageError, OSError, ValueError):
        return None
    packed = (
        rgba[..., 0].astype(np.int32) << 16
        | rgba[..., 1].astype(np.int32) << 8
        | rgba[..., 2].astype(np.int32)
    )
    index = np.zeros(packed.shape, dtype=np.uint8)
    for label, mapping in initial["labelMappings"].items():
        if label in labels:
            color = int(mapping["color"][1:], 16)
            index[(packed == color) & (rgba[..., 3] > 0)] = labels.index(label) + 1
    return index


def mask_src(initial: dict[str, Any]) -> str:
    """The earlier map inline (a data URL) for the element, or "" when it can't be read."""
    try:
        data = storage_read(initial["ref"], max_bytes=settings.QUORUM_IMAGE_MAX_BYTES)
    except StorageError:
        return ""
    if not data.startswith(b"\x89PNG"):
        return ""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _mask_problem(prior: Prior) -> str:
    ref = prior.initial["ref"]
    try:
        stored = storage_exists(ref)
    except StorageError as exc:
        return f"the earlier label map {ref!r} can't be read: {exc}"
    return "" if stored else f"the earlier label map {ref!r} is not in storage"


def _no_problem(prior: Prior) -> str:
    return ""


def _unchanged_objects(rows: Callable[[Any], list[tuple]], list_key: str, tolerance: float):
    def unchanged(inner: dict[str, Any], initial: Any, labels: list[str]) -> bool:
        return _close(rows(inner[list_key]), rows(initial), tolerance)

    return unchanged


def _unchanged_detection(inner: dict[str, Any], initial: Any, labels: list[str]) -> bool:
    return _close(_track_rows(_detection_tracks(inner)), _track_rows(initial), BOX_TOLERANCE)


def _unchanged_mask(inner: dict[str, Any], initial: Any, labels: list[str]) -> bool:
    earlier = _mask_index(initial, labels)
    if earlier is None:
        return False
    answered = load_label_map(inner["labeledImage"]["ref"])
    return answered.shape == earlier.shape and bool((answered == earlier).all())


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawingKind:
    """One drawing type's earlier label: how it is found, read, shown and compared."""

    noun: str  # what the earlier label is, for messages ("polygons")
    manifest_type: str
    element: str  # the element that shows it (and corrects it)
    media: str  # "image" or "video"
    read: Callable[[Any, dict[str, Any]], tuple[Any, list[str]] | None]
    unchanged: Callable[[dict[str, Any], Any, list[str]], bool]
    # What is wrong with an earlier label that was found ("" when nothing), checked on import.
    problem: Callable[[Prior], str] = _no_problem

    def find(self, line: dict[str, Any]) -> Prior | None:
        """The first label attribute of ``line`` whose metadata has this kind's type."""
        for key, metadata in line.items():
            if not key.endswith("-metadata") or not isinstance(metadata, dict):
                continue
            if metadata.get("type") != self.manifest_type:
                continue
            attribute = key.removesuffix("-metadata")
            read = self.read(line.get(attribute), metadata)
            if read is None:
                continue
            initial, used = read
            return Prior(attribute, _ordered_labels(_class_names(metadata), used), initial)
        return None

    def needs(self) -> str:
        return (
            f'the {self.noun} of an earlier job: a label attribute whose "-metadata" has '
            f'"type": "{self.manifest_type}"'
        )

    def answer_unchanged(self, answer: dict[str, Any], prior: Prior, labels: list[str]) -> bool:
        inner = next(iter(answer.values()))
        return self.unchanged(inner, prior.initial, labels)


POLYGONS = DrawingKind(
    noun="polygons",
    manifest_type="groundtruth/polygon",
    element="crowd-polygon",
    media="image",
    read=_read_polygons,
    unchanged=_unchanged_objects(_polygon_rows, "polygons", POINT_TOLERANCE),
)
KEYPOINTS = DrawingKind(
    noun="keypoints",
    manifest_type="groundtruth/keypoint",
    element="crowd-keypoint",
    media="image",
    read=_read_keypoints,
    unchanged=_unchanged_objects(_point_rows, "keypoints", POINT_TOLERANCE),
)
MASK = DrawingKind(
    noun="label map",
    manifest_type="groundtruth/semantic-segmentation",
    element="crowd-semantic-segmentation",
    media="image",
    read=_read_mask,
    unchanged=_unchanged_mask,
    problem=_mask_problem,
)
VIDEO_DETECTION = DrawingKind(
    noun="per-frame boxes",
    manifest_type="groundtruth/video-object-detection",
    element="crowd-video-object-detection",
    media="video",
    read=_read_detection,
    unchanged=_unchanged_detection,
)
VIDEO_TRACKING = DrawingKind(
    noun="tracks",
    manifest_type="groundtruth/video-object-tracking",
    element="crowd-video-object-tracking",
    media="video",
    read=_read_tracking,
    unchanged=lambda inner, initial, labels: _close(
        _track_rows(inner["tracks"]), _track_rows(initial), BOX_TOLERANCE
    ),
)
