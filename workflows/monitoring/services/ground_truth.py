"""Ground truth for existing model monitors: the human labels keyed by prediction id, in the
monitoring service's ground-truth merge format (JSON Lines), and as CSV.

Each JSON line: ``{"groundTruthData": {"data": <label>, "encoding": "CSV"},
"eventMetadata": {"eventId": <prediction id>}, "eventVersion": "0"}``. Files are written
under ``<uri>/YYYY/MM/DD/HH/`` of the export time, the layout such monitors read.
"""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from django.db import transaction
from django.utils import timezone

from labeling.data.spreadsheet import csv_writer
from labeling.data.storage import storage_write
from labeling.errors import ValidationFailed
from workflows.models import Flow, HumanLoop, MonitorConfig, Prediction
from workflows.states import HumanLoopStatus

EVENT_VERSION = "0"
CSV_HEADER = (
    "prediction_id",
    "model_version",
    "predicted",
    "human",
    "confidence",
    "predicted_at",
    "labeled_at",
)
ROWS_PER_FETCH = 5000


@dataclass(frozen=True)
class GroundTruthRow:
    prediction_id: str
    model_name: str
    model_version: str
    predicted: str
    human: str
    confidence: float | None
    predicted_at: datetime
    labeled_at: datetime
    route_reason: str

    def as_merge_line(self) -> str:
        return json.dumps(
            {
                "groundTruthData": {"data": self.human, "encoding": "CSV"},
                "eventMetadata": {"eventId": self.prediction_id},
                "eventVersion": EVENT_VERSION,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ground_truth_rows(
    *, flow: Flow, since: datetime | None = None, until: datetime | None = None
) -> Iterator[GroundTruthRow]:
    """The flow's human labels (completed loops), labeled after ``since`` and up to ``until``,
    in label order. The prediction id is the routed prediction's, or the loop's name for a
    loop started directly."""
    loops = HumanLoop.objects.filter(flow=flow, status=HumanLoopStatus.COMPLETED)
    if since is not None:
        loops = loops.filter(completed_at__gt=since)
    if until is not None:
        loops = loops.filter(completed_at__lte=until)
    rows = loops.order_by("completed_at", "pk").values_list(
        "name",
        "model_name",
        "model_version",
        "model_label",
        "human_label",
        "model_confidence",
        "predicted_at",
        "created_at",
        "completed_at",
        "route_reason",
    )
    batch: list[tuple] = []

    def flush() -> Iterator[GroundTruthRow]:
        ids = dict(
            Prediction.objects.filter(
                flow=flow, loop_name__in=[row[0] for row in batch]
            ).values_list("loop_name", "prediction_id")
        )
        for name, model, version, predicted, human, confidence, at, created, done, why in batch:
            yield GroundTruthRow(
                ids.get(name, name),
                model,
                version,
                predicted,
                human,
                confidence,
                at or created,
                done,
                why,
            )

    for row in rows.iterator(chunk_size=ROWS_PER_FETCH):
        batch.append(row)
        if len(batch) >= ROWS_PER_FETCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def ground_truth_jsonl(rows: Iterator[GroundTruthRow]) -> Iterator[str]:
    for row in rows:
        yield row.as_merge_line() + "\n"


def ground_truth_csv(rows: Iterator[GroundTruthRow]) -> Iterator[str]:
    """CSV of (prediction id, model version, predicted, human, confidence, predicted at,
    labeled at), through the project's spreadsheet-safe writer."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                row.prediction_id,
                row.model_version,
                row.predicted,
                row.human,
                "" if row.confidence is None else row.confidence,
                _iso(row.predicted_at),
                _iso(row.labeled_at),
            ]
        )
        if buffer.tell() > 256 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def check_output_uri(uri: str) -> str:
    """An output location: ``s3://bucket/prefix`` or a relative folder under the media root."""
    if not uri:
        return ""
    if uri.startswith("s3://"):
        bucket = uri[5:].split("/", 1)[0]
        if not bucket or ".." in uri.split("/"):
            raise ValidationFailed("ground_truth_uri: s3://bucket/prefix")
        return uri.rstrip("/")
    path = PurePosixPath(uri)
    if path.is_absolute() or ".." in path.parts or "://" in uri:
        raise ValidationFailed(
            "ground_truth_uri: s3://bucket/prefix or a relative folder under the media root",
            details={"field": "ground_truth_uri"},
        )
    return str(path)


def output_write(uri: str, body: bytes) -> None:
    """Write ``body`` at ``uri`` through Quorum's storage (labeling/data/storage.py): the object
    store for ``s3://`` when one is configured, else ``MEDIA_ROOT/bucket/key``; a relative path
    lives under ``MEDIA_ROOT``. Idempotent and never half-written."""
    storage_write(uri, body, "application/jsonl")


def ground_truth_export(*, flow: Flow, now: datetime | None = None) -> dict[str, Any]:
    """Write the labels that arrived since the last export as one JSON Lines file under the
    flow's ground-truth location (``<uri>/YYYY/MM/DD/HH/<flow>-<time>.jsonl``); the next
    export starts where this one ended."""
    now = now or timezone.now()
    with transaction.atomic():
        config, _ = MonitorConfig.objects.select_for_update().get_or_create(flow=flow)
        since = config.ground_truth_exported_at
        lines = list(ground_truth_jsonl(ground_truth_rows(flow=flow, since=since, until=now)))
        if config.ground_truth_uri:
            base = config.ground_truth_uri
        elif flow.output_path:  # beside the loops' output documents (CreateFlowDefinition)
            base = f"{flow.output_path.rstrip('/')}/{flow.name}/ground-truth"
        else:
            base = f"ground-truth/{flow.name}"
        stamp = now.astimezone(UTC)
        uri = f"{base}/{stamp:%Y/%m/%d/%H}/{flow.name}-{stamp:%Y%m%dT%H%M%S%fZ}.jsonl"
        if lines:
            output_write(uri, "".join(lines).encode())
        MonitorConfig.objects.filter(pk=config.pk).update(ground_truth_exported_at=now)
    return {"uri": uri if lines else None, "rows": len(lines), "since": since, "until": now}


def ground_truth_exports_due(*, now: datetime | None = None) -> list[int]:
    """Flows whose scheduled ground-truth export is due."""
    now = now or timezone.now()
    due = []
    for config in MonitorConfig.objects.filter(ground_truth_every_seconds__isnull=False).only(
        "flow_id", "ground_truth_every_seconds", "ground_truth_exported_at"
    ):
        last = config.ground_truth_exported_at
        if last is None or (now - last).total_seconds() >= config.ground_truth_every_seconds:
            due.append(config.flow_id)
    return due
