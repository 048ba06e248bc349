"""Which stream makes an export of a job in a named format: the augmented manifest, CSV, the
task type's own formats (COCO, VOC, YOLO, MOT) and the text formats (CoNLL 2003, spaCy).

The export API streams it to the client; the console's bulk export writes it to a file.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from labeling.data import exports
from labeling.data.formats import export_format_names, get_export_format
from labeling.data.formats import text as text_formats
from labeling.errors import ValidationFailed
from labeling.models import Job
from labeling.task_types import get_task_type

TEXT_FORMAT_NAMES = ("conll2003", "spacy")


@dataclass(frozen=True)
class ExportBody:
    chunks: Iterable[bytes]
    content_type: str
    suffix: str


def export_format_choices() -> list[str]:
    return ["manifest", "csv", *export_format_names(), *TEXT_FORMAT_NAMES]


def export_formats_of(job: Job) -> list[str]:
    """The formats a job exports in, for the console's menus."""
    task_type = get_task_type(job.task_type)
    names = ["manifest", "csv", *getattr(task_type, "export_formats", ())]
    if task_type.manifest_type == "groundtruth/text-span":
        names.extend(TEXT_FORMAT_NAMES)
    return names


def export_body(job: Job, *, fmt: str, labeled_only: bool) -> ExportBody:
    """The export of ``job`` in ``fmt``; ValidationFailed naming the offered ones if it has none."""
    try:
        text_export = text_formats.export_for(job, fmt=fmt, labeled_only=labeled_only)
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={"field": "format"}) from None
    if text_export is not None:
        return ExportBody(text_export.body, text_export.content_type, text_export.suffix)
    if fmt not in ("manifest", "csv"):
        offered = getattr(get_task_type(job.task_type), "export_formats", ())
        if fmt not in offered:
            raise ValidationFailed(
                f"a {job.task_type} job exports as manifest, csv"
                + "".join(f", {other}" for other in offered)
                + f"; not {fmt}",
                details={"field": "format"},
            )
        export_format = get_export_format(fmt)
        return ExportBody(
            export_format.stream(job, labeled_only=True),
            export_format.content_type,
            export_format.suffix,
        )
    if fmt == "csv":
        return ExportBody(exports.csv_stream(job, labeled_only=labeled_only), "text/csv", "csv")
    return ExportBody(
        exports.manifest_stream(job, labeled_only=labeled_only),
        "application/x-ndjson",
        "manifest.jsonl",
    )
