"""The interface of an export format, its registry, and streaming helpers (JSON, zip)."""

import json
import posixpath
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from labeling.data.exports import BYTES_PER_CHUNK as CHUNK_BYTES
from labeling.data.exports import as_object, labeled_rows
from labeling.models import Job


class ExportFormat(Protocol):
    name: str
    content_type: str
    suffix: str

    def stream(self, job: Job, *, labeled_only: bool) -> Iterator[bytes]: ...


_FORMATS: dict[str, ExportFormat] = {}


def register_export_format(export_format: ExportFormat) -> ExportFormat:
    _FORMATS[export_format.name] = export_format
    return export_format


def get_export_format(name: str) -> ExportFormat:
    try:
        return _FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown export format {name!r}") from None


def export_format_names() -> list[str]:
    return sorted(_FORMATS)


LabeledItem = tuple[int, dict[str, Any], dict[str, Any]]


def labeled_items(job: Job) -> Iterator[tuple[int, str, Any]]:
    """(item id, stored input line, stored consolidated value) of each labeled item, in id
    order; ``decode_item`` reads one, inside the format's ``written`` guard."""
    for row in labeled_rows(job, labeled_only=True):
        yield row[0], row[1], row[-1]


def decode_item(row: tuple[int, str, Any]) -> LabeledItem:
    """(item id, input line, consolidated value); raises on a value that is not an object."""
    item_id, data, value = row
    return item_id, json.loads(data), as_object(value)


def file_stem(item_id: int, line: dict[str, Any]) -> str:
    """A file name stem per item that is unique in the export: <item id>_<source name>."""
    name = line.get("file-name") or line.get("source-ref") or ""
    stem = posixpath.splitext(posixpath.basename(str(name).split("?")[0]))[0]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80]
    return f"{item_id}_{safe}" if safe else str(item_id)


class _Sink:
    """A write-only, unseekable file: zipfile then writes data descriptors as it streams."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def zip_stream(files: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A zip archive of ``(name, content)`` pairs, produced as it is read."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        pending = 0
        for name, content in files:
            archive.writestr(name, content)
            pending += len(content)
            if pending >= CHUNK_BYTES:
                yield sink.take()
                pending = 0
    yield sink.take()
