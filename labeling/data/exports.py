"""Streaming exports of a job: the augmented manifest (JSON Lines) and CSV.

Rows come through a server-side cursor in chunks and leave as chunks of text, so memory
stays flat whatever the job's size. Each manifest line is the input line as imported with
the label attribute and its metadata spliced onto its end.

No stored value makes an export fail: every format writes its rows through ``written``, which
leaves out a row it cannot write (a consolidated value of the wrong shape), logs it with the
item id and the reason, and ends with one line ``export job=... format=... rows=...
skipped=...``.
"""

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, transaction

from labeling.data.spreadsheet import csv_writer
from labeling.models import Item, Job
from labeling.task_types import get_task_type
from labeling.task_types.base import is_structured

ROWS_PER_FETCH = 5_000
BYTES_PER_CHUNK = 256 * 1024

logger = logging.getLogger(__name__)
Row = TypeVar("Row", bound=tuple)
Out = TypeVar("Out")

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
# Issue 14: a reviewed label says so in the manifest's metadata and in the CSV.
_REVIEW_FIELDS = ("consolidated__review_status", "consolidated__reviewed_at")
REVIEWED = ("accepted", "fixed")


def reviewed_metadata(status: str | None, at: datetime | None) -> dict[str, Any]:
    """The ``reviewed`` key of a manifest line's metadata, for a label a reviewer decided."""
    if status not in REVIEWED or at is None:
        return {}
    return {"reviewed": {"outcome": status, "date": at.strftime("%Y-%m-%dT%H:%M:%S.%f")}}


# Conditions on Item rows that narrow every export made inside ``export_scope`` (the console's
# export of a selection); no conditions: the whole job.
_scope: ContextVar[tuple[Any, ...]] = ContextVar("export_scope", default=())


@contextmanager
def export_scope(*conditions: Any) -> Iterator[None]:
    """Exports read inside this block (their streams consumed in it) cover only the items
    that meet ``conditions`` (Q objects or boolean expressions on Item)."""
    token = _scope.set(conditions)
    try:
        yield
    finally:
        _scope.reset(token)


def item_rows(job: Job, labeled_only: bool, fields: tuple[str, ...] = _LABEL_FIELDS):
    """``fields`` of each item of ``job`` (with its consolidated label), in id order, read
    through a server-side cursor that streams; every export reads its rows here."""
    items = Item.objects.filter(job_id=job.pk).filter(*_scope.get()).order_by("id")
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


class ExportTally:
    """How many rows one export wrote and left out; each left-out row and the total are
    logged (the count of a streamed export can't go in its headers, sent before the rows)."""

    def __init__(self, job: Job, fmt: str, *, keep_ids: bool = False) -> None:
        self.job_id = job.pk
        self.fmt = fmt
        self.rows = 0
        self.skipped = 0
        # The ids left out, for a format that reads the rows twice (few: only the bad ones).
        self.skipped_ids: set[Any] = set()
        self._keep_ids = keep_ids

    def skip(self, item_id: Any, problem: Exception) -> None:
        self.skipped += 1
        if self._keep_ids:
            self.skipped_ids.add(item_id)
        logger.warning(
            "export job=%s format=%s item=%s skipped: %s: %s",
            self.job_id,
            self.fmt,
            item_id,
            type(problem).__name__,
            problem,
        )

    def finish(self) -> None:
        logger.log(
            logging.WARNING if self.skipped else logging.INFO,
            "export job=%s format=%s rows=%s skipped=%s",
            self.job_id,
            self.fmt,
            self.rows,
            self.skipped,
        )


def written(
    tally: ExportTally, rows: Iterable[Row], write: Callable[[Row], Out], *, last: bool = True
) -> Iterator[Out]:
    """``write(row)`` of each row (its first field is the item id). A row it can't write is
    left out and logged, never raised: whatever a stored value holds, the rest streams.
    ``last`` logs the total after the rows (a format that reads the rows twice passes False
    for its first pass and calls ``tally.finish()`` itself)."""
    for row in rows:
        try:
            out = write(row)
        except Exception as problem:  # any stored value may be of any shape
            tally.skip(row[0], problem)
            continue
        tally.rows += 1
        yield out
    if last:
        tally.finish()


def decoded(value: Any) -> Any:
    """A consolidated value as stored: JSON text on backends that return it so."""
    return json.loads(value) if isinstance(value, str) else value


def as_object(value: Any) -> dict[str, Any]:
    """A consolidated value that must be a JSON object; anything else is a bad row."""
    try:
        value = decoded(value)
    except ValueError:
        raise TypeError("the consolidated value is text, not an object") from None
    if not isinstance(value, dict):
        raise TypeError(f"the consolidated value is {type(value).__name__}, not an object")
    return value


def labeled_rows(job: Job, *, labeled_only: bool = False):
    """(id, data, label, confidence, human, created, method, value) of each item, in id order;
    the export formats of the image and video task types read these."""
    return item_rows(job, labeled_only, _VALUE_FIELDS)


def manifest_lines(job: Job, *, labeled_only: bool = False) -> Iterator[str]:
    line_of, fields = _manifest_line_writer(job)
    tally = ExportTally(job, "manifest")
    yield from written(tally, item_rows(job, labeled_only, fields), line_of)


def manifest_lines_by_item(job: Job) -> Iterator[tuple[int, str]]:
    """(item id, manifest line) of each item of ``job``, in id order (a chain's merged export,
    issue 16, joins the lines of several jobs by item)."""
    line_of, fields = _manifest_line_writer(job)
    tally = ExportTally(job, "manifest")
    yield from written(tally, item_rows(job, False, fields), lambda row: (row[0], line_of(row)))


def item_manifest_line(job: Job, item_id: int) -> str:
    """One item's output manifest line, exactly as the job's export writes it (chained jobs,
    issue 16, pass it to the child job). Raises Item.DoesNotExist, or what the writer raises
    for a stored value it can't write."""
    line_of, fields = _manifest_line_writer(job)
    row = Item.objects.filter(job_id=job.pk, pk=item_id).values_list(*fields).get()
    return line_of(row)


def manifest_lines_of(job: Job, item_ids: list[int]) -> dict[int, str]:
    """Some items' output manifest lines, as ``item_manifest_line`` writes each, in one read
    (a chain link passes a batch of its parent's items at once)."""
    line_of, fields = _manifest_line_writer(job)
    rows = Item.objects.filter(job_id=job.pk, pk__in=item_ids).values_list(*fields)
    return {row[0]: line_of(row) for row in rows}


def _manifest_line_writer(job: Job) -> tuple[Callable[[tuple], str], tuple[str, ...]]:
    """The function that writes one manifest line of ``job`` from a row, and the row's fields."""
    task_type = get_task_type(job.task_type)
    if is_structured(task_type):
        return _structured_line_writer(job, task_type)
    attribute = json.dumps(job.label_attribute_name)
    metadata_key = json.dumps(f"{job.label_attribute_name}-metadata")
    job_name = f"labeling-job/{job.name}"
    class_ids = {label: index for index, label in enumerate(job.labels)}

    def line_of(row: tuple) -> str:
        _id, data, label, confidence, human, created, method, review, reviewed_at = row
        if created is None:
            return data + "\n"
        metadata = {
            "class-name": label,
            "confidence": confidence,
            "type": task_type.manifest_type,
            "job-name": job_name,
            "human-annotated": "yes" if human else "no",
            "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "consolidation-method": method,
            **reviewed_metadata(review, reviewed_at),
        }
        suffix = f"{attribute}:{class_ids.get(label, -1)},{metadata_key}:" + json.dumps(
            metadata, ensure_ascii=False, separators=(",", ":")
        )
        body = data[:-1].rstrip()
        separator = "" if body.endswith("{") else ","
        return f"{body}{separator}{suffix}}}\n"

    return line_of, (*_LABEL_FIELDS, *_REVIEW_FIELDS)


def _structured_line_writer(job: Job, task_type) -> tuple[Callable[[tuple], str], tuple]:
    """Lines whose label attribute is the task type's own shape (boxes, masks, ...)."""
    # Semantic segmentation names its PNG under "<attribute>-ref", as the managed service did.
    name = job.label_attribute_name + getattr(task_type, "manifest_attribute_suffix", "")
    attribute = json.dumps(name)
    metadata_key = json.dumps(f"{name}-metadata")
    job_name = f"labeling-job/{job.name}"
    labels = list(job.labels)

    def line_of(row: tuple) -> str:
        _id, data, _label, confidence, human, created, method, value, review, reviewed_at = row
        if created is None:
            return data + "\n"
        label_value, extra = task_type.manifest_label(as_object(value), labels)
        metadata = {
            **extra,
            "confidence": confidence,
            "type": task_type.manifest_type,
            "job-name": job_name,
            "human-annotated": "yes" if human else "no",
            "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "consolidation-method": method,
            **reviewed_metadata(review, reviewed_at),
        }
        compact = {"ensure_ascii": False, "separators": (",", ":")}
        suffix = (
            f"{attribute}:{json.dumps(label_value, **compact)},"
            f"{metadata_key}:{json.dumps(metadata, **compact)}"
        )
        body = data[:-1].rstrip()
        separator = "" if body.endswith("{") else ","
        return f"{body}{separator}{suffix}}}\n"

    return line_of, (*_VALUE_FIELDS, *_REVIEW_FIELDS)


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
    "reviewed",
)


def csv_stream(job: Job, *, labeled_only: bool = False) -> Iterator[bytes]:
    """The CSV export. ``label`` and ``class_id`` are the consolidated class; task types whose
    value is not one class fill them with their ``csv_columns`` (multi-label: labels and class
    ids joined with ``|``; entity recognition: the spans as JSON; custom: the answer as JSON)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    class_ids = {label: index for index, label in enumerate(job.labels)}
    columns_of = getattr(get_task_type(job.task_type), "csv_columns", None)
    labels = list(job.labels)

    def label_columns(label: str | None, created: datetime | None, value: Any) -> tuple[Any, Any]:
        if created is None:
            return label or "", ""
        if columns_of is None:
            return label or "", class_ids.get(label, "")
        return columns_of(as_object(value or {}), labels)

    def line_of(row: tuple) -> str:
        item_id, data, label, confidence, human, created, method, review, _at, *value = row
        line = json.loads(data)
        source = line.get("source", line.get("source-ref", ""))
        cells = (
            item_id,
            source,
            *label_columns(label, created, value[0] if value else None),
            "" if confidence is None else confidence,
            "" if created is None else ("yes" if human else "no"),
            method or "",
            created.isoformat() if created else "",
            review if review in REVIEWED else "",
        )
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    def lines() -> Iterator[str]:
        writer.writerow(CSV_HEADER)
        yield buffer.getvalue()
        fields = (*_LABEL_FIELDS, *_REVIEW_FIELDS)
        if columns_of is not None:
            fields = (*fields, "consolidated__value")
        tally = ExportTally(job, "csv")
        yield from written(tally, item_rows(job, labeled_only, fields), line_of)

    return chunked(lines())
