"""YOLO: a zip of ``labels/<stem>.txt`` with one ``class cx cy w h`` line per box (all four
normalised to the image size), ``classes.txt``, and ``images.txt`` mapping stems to sources."""

from collections.abc import Iterator

from labeling.data.exports import ExportTally, written
from labeling.data.formats.base import (
    decode_item,
    file_stem,
    labeled_items,
    register_export_format,
    zip_stream,
)
from labeling.models import Job
from labeling.task_types import get_task_type


def yolo_lines(size: dict, objects: list[dict]) -> str:
    width, height = size["width"], size["height"]
    lines = []
    for obj in objects:
        left, top, box_width, box_height = obj["bbox"]
        cx, cy = (left + box_width / 2) / width, (top + box_height / 2) / height
        lines.append(
            f"{obj['class_id']} {cx:.6f} {cy:.6f} {box_width / width:.6f} {box_height / height:.6f}"
        )
    return "".join(line + "\n" for line in lines)


class Yolo:
    name = "yolo"
    content_type = "application/zip"
    suffix = "yolo.zip"

    def stream(self, job: Job, *, labeled_only: bool = True) -> Iterator[bytes]:
        return zip_stream(self._files(job))

    def _files(self, job: Job) -> Iterator[tuple[str, bytes]]:
        task_type = get_task_type(job.task_type)
        labels = list(job.labels)
        yield "classes.txt", ("\n".join(labels) + "\n").encode()
        index = []

        def file_of(row: tuple) -> tuple[str, bytes]:
            item_id, line, value = decode_item(row)
            stem = file_stem(item_id, line)
            objects = task_type.export_objects(value, labels)
            text = yolo_lines(value["image_size"], objects)
            index.append(f"{stem}\t{line.get('source-ref', '')}\n")
            return f"labels/{stem}.txt", text.encode()

        yield from written(ExportTally(job, self.name), labeled_items(job), file_of)
        yield "images.txt", "".join(index).encode()


register_export_format(Yolo())
