"""MOT Challenge ground truth for tracking jobs: a zip with, per labeled item (a sequence),
``<stem>/gt/gt.txt`` and ``<stem>/seqinfo.ini``, plus ``labels.txt``.

Each gt.txt line is ``frame,id,left,top,width,height,conf,class,visibility`` with frames,
ids and classes counted from 1, as the MOT tools read them. Every frame an object is in is
written, interpolated frames included (not only the keyframes the workers set).
"""

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


def gt_lines(value: dict) -> str:
    rows = []
    for track in value["tracks"]:
        for box in track["frames"]:
            rows.append(
                (
                    box["frame"] + 1,
                    track["object_id"],
                    box["left"],
                    box["top"],
                    box["width"],
                    box["height"],
                    track["confidence"],
                    track["class_id"] + 1,
                )
            )
    rows.sort()
    return "".join(
        f"{frame},{object_id},{left:g},{top:g},{width:g},{height:g},{conf:g},{cls},1\n"
        for frame, object_id, left, top, width, height, conf, cls in rows
    )


def seqinfo(name: str, value: dict) -> str:
    size = value["image_size"]
    return (
        "[Sequence]\n"
        f"name={name}\n"
        "imDir=img1\n"
        "frameRate=30\n"
        f"seqLength={value['frame_count']}\n"
        f"imWidth={size['width']}\n"
        f"imHeight={size['height']}\n"
        "imExt=.jpg\n"
    )


class Mot:
    name = "mot"
    content_type = "application/zip"
    suffix = "mot.zip"

    def stream(self, job: Job, *, labeled_only: bool = True) -> Iterator[bytes]:
        return zip_stream(self._files(job))

    def _files(self, job: Job) -> Iterator[tuple[str, bytes]]:
        yield "labels.txt", ("\n".join(job.labels) + "\n").encode()

        def files_of(row: tuple) -> list[tuple[str, bytes]]:
            item_id, line, value = decode_item(row)
            stem = file_stem(item_id, line)
            return [
                (f"{stem}/seqinfo.ini", seqinfo(stem, value).encode()),
                (f"{stem}/gt/gt.txt", gt_lines(value).encode()),
            ]

        for files in written(ExportTally(job, self.name), labeled_items(job), files_of):
            yield from files


register_export_format(Mot())
