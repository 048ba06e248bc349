"""COCO object-detection JSON: images, annotations (boxes, polygons, keypoints, RLE masks),
categories. Written in one streamed document: the images array in one pass over the job's
labeled items, the annotations in a second.

Category ids are the job's label order plus one (COCO reserves 0). Keypoint jobs have one
category whose ``keypoints`` are the job's labels, and one annotation per item.
"""

import json
from collections.abc import Iterator
from typing import Any

from labeling.data.exports import ExportTally, as_object, chunked, written
from labeling.data.formats.base import decode_item, labeled_items, register_export_format
from labeling.models import Job
from labeling.task_types import get_task_type

_COMPACT = {"ensure_ascii": False, "separators": (",", ":")}


def _image_entry(item_id: int, line: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    size = value.get("image_size") or {}
    return {
        "id": item_id,
        "file_name": line.get("source-ref", ""),
        "width": size.get("width", 0),
        "height": size.get("height", 0),
    }


def _annotation(obj: dict[str, Any], item_id: int, keypoint_labels: list[str]) -> dict[str, Any]:
    left, top, width, height = obj["bbox"]
    entry: dict[str, Any] = {
        "image_id": item_id,
        "category_id": obj["class_id"] + 1,
        "bbox": [left, top, width, height],
        "area": width * height,
        "iscrowd": 0,
    }
    if "polygon" in obj:
        flat = [coordinate for point in obj["polygon"] for coordinate in point]
        entry["segmentation"] = [flat]
        entry["area"] = obj.get("area", entry["area"])
    if "rle" in obj:
        entry["segmentation"] = obj["rle"]
        entry["area"] = obj["area"]
        entry["iscrowd"] = 1
    if "keypoints" in obj:
        placed = {point["label"]: point for point in obj["keypoints"]}
        flat: list[float] = []
        for name in keypoint_labels:
            point = placed.get(name)
            flat += [point["x"], point["y"], 2] if point else [0, 0, 0]
        entry["keypoints"] = flat
        entry["num_keypoints"] = len(placed)
        entry["category_id"] = 1
    if "confidence" in obj:
        entry["score"] = obj["confidence"]
    if obj.get("attributes"):
        entry["attributes"] = obj["attributes"]
    return entry


class Coco:
    name = "coco"
    content_type = "application/json"
    suffix = "coco.json"

    def stream(self, job: Job, *, labeled_only: bool = True) -> Iterator[bytes]:
        return chunked(self._texts(job))

    def _texts(self, job: Job) -> Iterator[str]:
        task_type = get_task_type(job.task_type)
        labels = list(job.labels)
        keypoints = getattr(task_type, "coco_kind", "") == "keypoints"
        if keypoints:
            categories = [{"id": 1, "name": "object", "keypoints": labels, "skeleton": []}]
        else:
            categories = [{"id": i + 1, "name": name} for i, name in enumerate(labels)]
        info = {"description": f"Quorum job {job.name}", "version": "1.0"}
        # An item whose annotations can't be written is left out of both arrays: the first
        # pass makes them to find out, and the tally keeps the ids it left out.
        tally = ExportTally(job, self.name, keep_ids=True)

        def annotations_of(item_id: int, value: dict[str, Any]) -> list[dict[str, Any]]:
            objects = task_type.export_objects(value, labels)
            return [_annotation(obj, item_id, labels) for obj in objects]

        def image_of(row: tuple) -> str:
            item_id, line, value = decode_item(row)
            entry = json.dumps(_image_entry(item_id, line, value), **_COMPACT)
            json.dumps(annotations_of(item_id, value), **_COMPACT)
            return entry

        yield '{"info":' + json.dumps(info, **_COMPACT) + ',"images":['
        for index, entry in enumerate(written(tally, labeled_items(job), image_of, last=False)):
            yield ("," if index else "") + entry
        yield '],"annotations":['
        annotation_id = 0
        for row in labeled_items(job):
            item_id, _line, value = row
            if item_id in tally.skipped_ids:
                continue
            try:
                texts = []
                for number, entry in enumerate(
                    annotations_of(item_id, as_object(value)), start=annotation_id + 1
                ):
                    entry["id"] = number
                    texts.append(json.dumps(entry, **_COMPACT))
            except Exception as problem:  # changed since the first pass: its image stays
                tally.skip(item_id, problem)
                tally.rows -= 1
                continue
            for text in texts:
                annotation_id += 1
                yield ("," if annotation_id > 1 else "") + text
        yield '],"categories":' + json.dumps(categories, **_COMPACT) + "}"
        tally.finish()


register_export_format(Coco())
