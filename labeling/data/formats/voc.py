"""Pascal VOC: a zip of one XML annotation file per labeled image (boxes as xmin/ymin/xmax/ymax,
1-based pixel corners as VOC writes them) and the class list."""

from collections.abc import Iterator
from xml.sax.saxutils import escape

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


def voc_xml(file_name: str, size: dict, objects: list[dict]) -> str:
    parts = [
        "<annotation>",
        "<folder>images</folder>",
        f"<filename>{escape(file_name)}</filename>",
        "<source><database>Quorum</database></source>",
        f"<size><width>{size.get('width', 0)}</width><height>{size.get('height', 0)}</height>"
        "<depth>3</depth></size>",
        "<segmented>0</segmented>",
    ]
    for obj in objects:
        left, top, width, height = obj["bbox"]
        flags = obj.get("attributes") or {}
        parts += [
            "<object>",
            f"<name>{escape(obj['label'])}</name>",
            "<pose>Unspecified</pose>",
            f"<truncated>{int(bool(flags.get('truncated')))}</truncated>",
            f"<occluded>{int(bool(flags.get('occluded')))}</occluded>",
            "<difficult>0</difficult>",
            f"<bndbox><xmin>{round(left) + 1}</xmin><ymin>{round(top) + 1}</ymin>"
            f"<xmax>{round(left + width)}</xmax><ymax>{round(top + height)}</ymax></bndbox>",
            "</object>",
        ]
    parts.append("</annotation>\n")
    return "\n".join(parts)


class PascalVoc:
    name = "voc"
    content_type = "application/zip"
    suffix = "voc.zip"

    def stream(self, job: Job, *, labeled_only: bool = True) -> Iterator[bytes]:
        return zip_stream(self._files(job))

    def _files(self, job: Job) -> Iterator[tuple[str, bytes]]:
        task_type = get_task_type(job.task_type)
        labels = list(job.labels)
        yield "labels.txt", ("\n".join(labels) + "\n").encode()

        def file_of(row: tuple) -> tuple[str, bytes]:
            item_id, line, value = decode_item(row)
            name = str(line.get("source-ref", ""))
            objects = task_type.export_objects(value, labels)
            xml = voc_xml(name, value.get("image_size") or {}, objects)
            return f"Annotations/{file_stem(item_id, line)}.xml", xml.encode()

        yield from written(ExportTally(job, self.name), labeled_items(job), file_of)


register_export_format(PascalVoc())
