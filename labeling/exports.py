"""Streaming exports of a job: the augmented manifest (JSON Lines) and CSV.

Rows come through a server-side cursor in chunks and leave as chunks of text, so memory
stays flat whatever the job's size. Each manifest line is the input line as imported with
the label attribute and its metadata spliced onto its end.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from labeling.models import Item, Job
from labeling.task_types import get_task_type
from labeling.task_types.base import is_structured

ROWS_PER_FETCH = 5_000
BYTES_PER_CHUNK = 256 * 1024

_LABEL_FIELDS = (
    "id",
    "data",
    "consolidated__label",
    "consolidated__confidence",
    "consolidated__human_annotated",
    "consolidated__created_at",
    "consolidated__method",
)


_VALUE_FIELDS = (*_LABEL_FIELDS, "consolidated__value")


def item_rows(job: Job, labeled_only: bool, fields: tuple[str, ...] = _LABEL_FIELDS):
    """``fields`` of each item of ``job`` (with its consolidated label), in id order, read
    through a server-side cursor that streams; every export reads its rows here."""
    items = Item.objects.filter(job_id=job.pk).order_by("id")
    if labeled_only:
        items = items.filter(consolidated__isnull=False)
    rows = items.values_list(*fields).iterator(chunk_size=ROWS_PER_FETCH)
    if connection.vendor != "postgresql":
        # SQLite reads lazily as it is; a transaction here would hold its write lock.
        yield from rows
        return
    # Inside a transaction the server-side cursor is a plain one that PostgreSQL streams as
    # it is read. In autocommit Django declares it WITH HOLD, and PostgreSQL then computes
    # and stores the whole result before the first row leaves (1.6 s at a million items).
    with transaction.atomic():
        yield from rows


def chunked(lines: Iterable[str]) -> Iterator[bytes]:
    """Text pieces joined into blocks of about ``BYTES_PER_CHUNK`` bytes for a response."""
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= BYTES_PER_CHUNK:
            yield "".join(buffer).encode()
            buffer.clear()
            size = 0
    if buffer:
        yield "".join(buffer).encode()


def labeled_rows(job: Job, *, labeled_only: bool = False):
    """(id, data, label, confidence, human, created, method, value) of each item, in id order;
    the export formats of the image and video task types read these."""
    return item_rows(job, labeled_only, _VALUE_FIELDS)


def manifest_lines(job: Job, *, labeled_only: bool = False) -> Iterator[str]:
    task_type = get_task_type(job.task_type)
    if is_structured(task_type):
        yield from _structured_manifest_lines(job, task_type, labeled_only)
        return
    attribute = json.dumps(job.label_attribute_name)
    metadata_key = json.dumps(f"{job.label_attribute_name}-metadata")
    job_name = f"labeling-job/{job.name}"
    class_ids = {label: index for index, label in enumerate(job.labels)}
    for _id, data, label, confidence, human, created, method in item_rows(job, labeled_only):
        if created is None:
            yield data + "\n"
            continue
        metadata = {
            "class-name": label,
            "confidence": confidence,
            "type": task_type.manifest_type,
            "job-name": job_name,
            "human-annotated": "yes" if human else "no",
            "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "consolidation-method": method,
        }
        suffix = f"{attribute}:{class_ids.get(label, -1)},{metadata_key}:" + json.dumps(
            metadata, ensure_ascii=False, separators=(",", ":")
        )
        body = data[:-1].rstrip()
        separator = "" if body.endswith("{") else ","
        yield f"{body}{separator}{suffix}}}\n"


def _structured_manifest_lines(job: Job, task_type, labeled_only: bool) -> Iterator[str]:
    """Lines whose label attribute is the task type's own shape (boxes, masks, ...)."""
    # Semantic segmentation names its PNG under "<attribute>-ref", as the managed service did.
    name = job.label_attribute_name + getattr(task_type, "manifest_attribute_suffix", "")
    attribute = json.dumps(name)
    metadata_key = json.dumps(f"{name}-metadata")
    job_name = f"labeling-job/{job.name}"
    labels = list(job.labels)
    for row in item_rows(job, labeled_only, _VALUE_FIELDS):
        _id, data, _label, confidence, human, created, method, value = row
        if created is None:
            yield data + "\n"
            continue
        if isinstance(value, str):
            value = json.loads(value)
        label_value, extra = task_type.manifest_label(value, labels)
        metadata = {
            **extra,
            "confidence": confidence,
            "type": task_type.manifest_type,
            "job-name": job_name,
            "human-annotated": "yes" if human else "no",
            "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "consolidation-method": method,
        }
        compact = {"ensure_ascii": False, "separators": (",", ":")}
        suffix = (
            f"{attribute}:{json.dumps(label_value, **compact)},"
            f"{metadata_key}:{json.dumps(metadata, **compact)}"
        )
        body = data[:-1].rstrip()
        separator = "" if body.endswith("{") else ","
        yield f"{body}{separator}{suffix}}}\n"


def manifest_stream(job: Job, *, labeled_only: bool = False) -> Iterator[bytes]:
    return chunked(manifest_lines(job, labeled_only=labeled_only))


CSV_HEADER = (
    "item_id",
    "source",
    "label",
    "class_id",
    "confidence",
    "human_annotated",
    "method",
    "creation_date",
)


def csv_stream(job: Job, *, labeled_only: bool = False) -> Iterator[bytes]:
    """The CSV export. ``label`` and ``class_id`` are the consolidated class; task types whose
    value is not one class fill them with their ``csv_columns`` (multi-label: labels and class
    ids joined with ``|``; entity recognition: the spans as JSON; custom: the answer as JSON)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    class_ids = {label: index for index, label in enumerate(job.labels)}
    columns_of = getattr(get_task_type(job.task_type), "csv_columns", None)
    labels = list(job.labels)

    def label_columns(label: str | None, created: datetime | None, value: Any) -> tuple[Any, Any]:
        if created is None:
            return label or "", ""
        if columns_of is None:
            return label or "", class_ids.get(label, "")
        if isinstance(value, str):
            value = json.loads(value)
        return columns_of(value or {}, labels)

    def lines() -> Iterator[str]:
        writer.writerow(CSV_HEADER)
        fields = _VALUE_FIELDS if columns_of is not None else _LABEL_FIELDS
        for item_id, data, label, confidence, human, created, method, *value in item_rows(
            job, labeled_only, fields
        ):
            line = json.loads(data)
            source = line.get("source", line.get("source-ref", ""))
            writer.writerow(
                (
                    item_id,
                    source,
                    *label_columns(label, created, value[0] if value else None),
                    "" if confidence is None else confidence,
                    "" if created is None else ("yes" if human else "no"),
                    method or "",
                    created.isoformat() if created else "",
                )
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return chunked(lines())
