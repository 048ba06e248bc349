"""Video task types: clip classification, object detection per frame, object tracking.

A video item is a sequence of frames: ``{"frames": ["clip/000000.jpg", ...]}`` (paths in the
media folder or http(s) URLs), or ``{"source-ref": "clip.mp4"}``, whose frames the import
(a Celery task) extracts with PyAV and lists under ``"frames"``.

Answers (what ``<crowd-video-object-tracking>`` / ``-detection`` submit)::

    {"annotatedResult": {"tracks": [{"objectId": 1, "label": "car", "keyframes": [
                                        {"frame": 0, "left", "top", "width", "height"}]}],
                         "frameCount": 30, "inputImageProperties": {"width", "height"}}}
    {"annotatedResult": {"frames": [{"frame": 0, "boundingBoxes": [{"label", "left", ...}]}],
                         "frameCount": 30, "inputImageProperties": {...}}}

A track holds only its keyframes; the boxes between are linear interpolations, computed by
consolidation and written out for every frame in the manifest and the MOT export.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from django.conf import settings

from labeling.consolidation.boxes import consolidate_boxes
from labeling.consolidation.tracks import consolidate_tracks, interpolate
from labeling.data.services.video_frames import VIDEO_SUFFIXES, video_extract_frames, video_probe
from labeling.task_types import answer_fields as f
from labeling.task_types import compared
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    register_task_type,
)
from labeling.task_types.classification import SingleLabelClassification
from labeling.task_types.image_boxes import parse_boxes, weights_array

MAX_FRAMES = 5_000
MAX_TRACKS = 1_000


def _check_ref(ref: Any, where: str) -> None:
    if not isinstance(ref, str) or not ref.strip():
        raise SourceProblem(f"{where} must be a path or an http(s) URL")
    parsed = urlparse(ref)
    if parsed.scheme in ("http", "https", "s3") and parsed.netloc:
        return
    if parsed.scheme or ref.startswith("/") or ".." in ref.split("/"):
        raise SourceProblem(f"{where} {ref!r} must be a path inside the media folder or a URL")


def check_video_source(line: dict[str, Any]) -> None:
    frames = line.get("frames")
    if frames is not None:
        if not isinstance(frames, list) or not frames:
            raise SourceProblem('"frames" must be a non-empty list of frame images')
        if len(frames) > MAX_FRAMES:
            raise SourceProblem(f'"frames" lists {len(frames)} frames; at most {MAX_FRAMES}')
        for index, ref in enumerate(frames):
            _check_ref(ref, f'"frames"[{index}]')
            if "://" not in ref and not (Path(settings.MEDIA_ROOT) / ref).is_file():
                raise SourceProblem(f'"frames"[{index}] {ref!r} is not a file in the media folder')
        return
    ref = line.get("source-ref")
    _check_ref(ref, '"source-ref"')
    if Path(ref).suffix.lower() not in VIDEO_SUFFIXES:
        raise SourceProblem(
            'a video item needs "frames", or a "source-ref" to a video '
            f"({', '.join(VIDEO_SUFFIXES)})"
        )
    if "://" in ref:
        raise SourceProblem("a video to extract frames from must be a file in the media folder")
    path = Path(settings.MEDIA_ROOT) / ref
    if not path.is_file():
        raise SourceProblem(f'"source-ref" {ref!r} is not a file in the media folder')
    problem = video_probe(path=path, max_frames=MAX_FRAMES)
    if problem:
        raise SourceProblem(problem)


def prepare_video_source(line: dict[str, Any]) -> dict[str, Any]:
    """A video file's line gets its extracted frames (in the import's Celery task)."""
    if "frames" in line:
        return line
    frames = video_extract_frames(ref=line["source-ref"], max_frames=MAX_FRAMES)
    return {**line, "frames": frames}


def _frame_number(value: Any, frame_count: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AnswerProblem(f"{where} must be a whole frame number, not {value!r}")
    if not 0 <= value < frame_count:
        raise AnswerProblem(f"{where} {value} is outside the clip's frames 0..{frame_count - 1}")
    return value


def _frame_count(inner: dict[str, Any], path: str) -> int:
    count = f.require(inner, "frameCount", path)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_FRAMES:
        raise AnswerProblem(f"{path}.frameCount must be a whole number in 1..{MAX_FRAMES}")
    return count


def _box_dict(row: np.ndarray) -> dict[str, float]:
    left, top, width, height = (round(float(v), 1) for v in row)
    return {"left": left, "top": top, "width": width, "height": height}


@dataclass(frozen=True)
class VideoClassification:
    """One label for a whole clip; the answer and its vote are those of classification."""

    key: str = "video-classification"
    title: str = "Video: clip classification"
    media: str = "video"
    manifest_type: str = "groundtruth/video-classification"
    template_name: str = "tasks/video_classification.html"
    consolidation: str = "majority"
    answer_is_one_class: bool = True
    _answers: SingleLabelClassification = field(
        default=SingleLabelClassification(
            key="", title="", media="image", manifest_type="", template_name=""
        )
    )

    def check_source(self, line: dict[str, Any]) -> None:
        check_video_source(line)

    def prepare_source(self, line: dict[str, Any]) -> dict[str, Any]:
        return prepare_video_source(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        return self._answers.parse_answer(answer, labels)

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        return {"frame_count": len(line.get("frames") or [])}


class _VideoBoxes:
    media = "video"
    # Issue 19: consolidate_answers takes the workers' stored reliabilities as weights.
    weighted_by_reliability = True

    def check_source(self, line: dict[str, Any]) -> None:
        check_video_source(line)

    def prepare_source(self, line: dict[str, Any]) -> dict[str, Any]:
        return prepare_video_source(line)

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        return {"frame_count": len(line.get("frames") or [])}


@dataclass(frozen=True)
class VideoObjectTracking(_VideoBoxes):
    key: str = "video-object-tracking"
    title: str = "Video: object tracking"
    manifest_type: str = "groundtruth/video-object-tracking"
    template_name: str = "tasks/video_object_tracking.html"
    consolidation: str = "tracks-iou"
    export_formats: tuple[str, ...] = ("mot",)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "tracks")
        name = name or "annotatedResult"
        size = f.image_size(inner, name)
        frame_count = _frame_count(inner, name)
        tracks = f.items(f.require(inner, "tracks", name), f"{name}.tracks", limit=MAX_TRACKS)
        parsed, seen = [], set()
        for index, track in enumerate(tracks):
            where = f"{name}.tracks[{index}]"
            if not isinstance(track, dict):
                raise AnswerProblem(f"{where} must be an object")
            object_id = f.require(track, "objectId", where)
            if not isinstance(object_id, int | str) or isinstance(object_id, bool):
                raise AnswerProblem(f"{where}.objectId must be a number or a string")
            if object_id in seen:
                raise AnswerProblem(f"{where}.objectId {object_id!r} is used twice")
            seen.add(object_id)
            keyframes = f.items(
                f.require(track, "keyframes", where), f"{where}.keyframes", limit=frame_count
            )
            if not keyframes:
                raise AnswerProblem(f"{where}.keyframes needs at least one keyframe")
            frames = {}
            for k, keyframe in enumerate(keyframes):
                at = f"{where}.keyframes[{k}]"
                if not isinstance(keyframe, dict):
                    raise AnswerProblem(f"{at} must be an object")
                number = _frame_number(f.require(keyframe, "frame", at), frame_count, f"{at}.frame")
                if number in frames:
                    raise AnswerProblem(f"{at}.frame {number} is a keyframe twice")
                box = {**keyframe, "label": track.get("label")}
                (checked,) = parse_boxes(
                    {"boundingBoxes": [box], "inputImageProperties": size}, labels, at
                )
                frames[number] = {k2: checked[k2] for k2 in ("left", "top", "width", "height")}
            f.label(f.require(track, "label", where), labels, f"{where}.label")
            parsed.append(
                {
                    "objectId": object_id,
                    "label": track["label"],
                    "keyframes": [{"frame": n, **frames[n]} for n in sorted(frames)],
                }
            )
        return ParsedAnswer(
            answer={
                name: {"tracks": parsed, "frameCount": frame_count, "inputImageProperties": size}
            }
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        weights: list[float] | None = None,
    ) -> Consolidated:
        inners = [next(iter(answer.values())) for answer in answers]
        frame_count = max(inner["frameCount"] for inner in inners)
        index = {name: i for i, name in enumerate(labels)}
        dense = [
            [
                interpolate(
                    {
                        k["frame"]: np.array([k["left"], k["top"], k["width"], k["height"]])
                        for k in track["keyframes"]
                    },
                    frame_count,
                )
                for track in inner["tracks"]
            ]
            for inner in inners
        ]
        classes = [[index[t["label"]] for t in inner["tracks"]] for inner in inners]
        result = consolidate_tracks(dense, classes, len(labels), weights=weights_array(weights))
        tracks = []
        for object_id, track in enumerate(result, start=1):
            frames = [
                {"frame": int(n), **_box_dict(track.boxes[n])}
                for n in np.flatnonzero(~np.isnan(track.boxes[:, 0]))
            ]
            if frames:
                tracks.append(
                    {
                        "object_id": object_id,
                        "label": labels[track.class_id],
                        "class_id": track.class_id,
                        "confidence": round(track.confidence, 4),
                        "frames": frames,
                    }
                )
        confidence = float(np.mean([t["confidence"] for t in tracks])) if tracks else 0.0
        return Consolidated(
            value={
                "image_size": inners[0]["inputImageProperties"],
                "frame_count": frame_count,
                "tracks": tracks,
            },
            confidence=round(confidence, 6),
            method=self.consolidation,
        )

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return [track["label"] for track in value["tracks"]]

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """Tracks matched one to one (same label) by track IoU over the frames either
        covers; Σ track IoU / max(n_a, n_b)."""
        return compared.tracks_match(answer, other).score

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        label_value = {
            "frame-count": value["frame_count"],
            "image_size": [{**value["image_size"], "depth": 3}],
            "tracks": [
                {
                    "object-id": t["object_id"],
                    "label": t["label"],
                    "class_id": t["class_id"],
                    "frames": t["frames"],
                }
                for t in value["tracks"]
            ],
        }
        return label_value, {
            "class-map": {str(i): name for i, name in enumerate(labels)},
            "objects": [
                {"object-id": t["object_id"], "confidence": t["confidence"]}
                for t in value["tracks"]
            ],
        }


@dataclass(frozen=True)
class VideoObjectDetection(_VideoBoxes):
    key: str = "video-object-detection"
    title: str = "Video: object detection per frame"
    manifest_type: str = "groundtruth/video-object-detection"
    template_name: str = "tasks/video_object_detection.html"
    consolidation: str = "boxes-iou-per-frame"
    export_formats: tuple[str, ...] = ()

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "frames")
        name = name or "annotatedResult"
        size = f.image_size(inner, name)
        frame_count = _frame_count(inner, name)
        frames = f.items(f.require(inner, "frames", name), f"{name}.frames", limit=frame_count)
        parsed = {}
        for index, frame in enumerate(frames):
            where = f"{name}.frames[{index}]"
            if not isinstance(frame, dict):
                raise AnswerProblem(f"{where} must be an object")
            number = _frame_number(f.require(frame, "frame", where), frame_count, f"{where}.frame")
            if number in parsed:
                raise AnswerProblem(f"{where}.frame {number} is listed twice")
            boxes = parse_boxes(
                {
                    "boundingBoxes": f.require(frame, "boundingBoxes", where),
                    "inputImageProperties": size,
                },
                labels,
                where,
            )
            if boxes:
                parsed[number] = boxes
        return ParsedAnswer(
            answer={
                name: {
                    "frames": [{"frame": n, "boundingBoxes": parsed[n]} for n in sorted(parsed)],
                    "frameCount": frame_count,
                    "inputImageProperties": size,
                }
            }
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        weights: list[float] | None = None,
    ) -> Consolidated:
        inners = [next(iter(answer.values())) for answer in answers]
        frame_count = max(inner["frameCount"] for inner in inners)
        index = {name: i for i, name in enumerate(labels)}
        by_frame = [
            {fr["frame"]: fr["boundingBoxes"] for fr in inner["frames"]} for inner in inners
        ]
        frames, confidences = [], []
        for number in sorted({n for worker in by_frame for n in worker}):
            per_worker = [worker.get(number, []) for worker in by_frame]
            result = consolidate_boxes(
                [
                    np.array([[b["left"], b["top"], b["width"], b["height"]] for b in w]).reshape(
                        -1, 4
                    )
                    for w in per_worker
                ],
                [np.array([index[b["label"]] for b in w], dtype=int) for w in per_worker],
                len(labels),
                weights=weights_array(weights),
            )
            if not len(result.boxes):
                continue
            frames.append(
                {
                    "frame": number,
                    "boxes": [
                        {
                            "label": labels[int(c)],
                            "class_id": int(c),
                            **_box_dict(row),
                            "confidence": round(float(share), 4),
                        }
                        for row, c, share in zip(
                            result.boxes, result.classes, result.confidences, strict=True
                        )
                    ],
                }
            )
            confidences.extend(result.confidences.tolist())
        return Consolidated(
            value={
                "image_size": inners[0]["inputImageProperties"],
                "frame_count": frame_count,
                "frames": frames,
            },
            confidence=round(float(np.mean(confidences)) if confidences else 0.0, 6),
            method=self.consolidation,
        )

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return [box["label"] for frame in value["frames"] for box in frame["boxes"]]

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """Box similarity per frame, averaged over the frames where either has a box."""
        return compared.frames_similarity(answer, other)

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        keys = ("class_id", "left", "top", "width", "height")
        label_value = {
            "frame-count": value["frame_count"],
            "image_size": [{**value["image_size"], "depth": 3}],
            "frames": [
                {
                    "frame-no": fr["frame"],
                    "annotations": [{k: box[k] for k in keys} for box in fr["boxes"]],
                    "objects": [{"confidence": box["confidence"]} for box in fr["boxes"]],
                }
                for fr in value["frames"]
            ],
        }
        return label_value, {"class-map": {str(i): name for i, name in enumerate(labels)}}


VIDEO_CLASSIFICATION = register_task_type(VideoClassification())
VIDEO_OBJECT_DETECTION = register_task_type(VideoObjectDetection())
VIDEO_OBJECT_TRACKING = register_task_type(VideoObjectTracking())
