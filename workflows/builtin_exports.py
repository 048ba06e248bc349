"""Exports of a flow's completed loops: their output documents as JSON Lines (the documented
shape: ``humanAnswers``, the consolidated answer, the input), and for a document key-value
review a CSV of every reviewer's corrections against what the analysis detected."""

import io
import json
from collections.abc import Iterator
from typing import Any

from labeling.data.spreadsheet import csv_writer
from labeling.task_types.document_review import (
    TEXTRACT_FORMS,
    Pair,
    box_overlap,
    key_value_pairs,
)
from labeling.task_types.document_review import normalised_text as normalise
from workflows.inference import InputProblem, loop_inference
from workflows.models import Flow, HumanLoop
from workflows.states import HumanLoopStatus

EXPORT_CHUNK = 500
MOVED_BELOW_IOU = 0.98  # a box whose IoU with the detected one is lower was moved
CORRECTION_COLUMNS = (
    "human_loop",
    "worker",
    "key",
    "detected_key",
    "detected_value",
    "reviewed_value",
    "change",
    "detected_confidence",
    "key_box_iou",
    "value_box_iou",
)


def _completed(flow: Flow):
    return (
        HumanLoop.objects.filter(flow=flow, status=HumanLoopStatus.COMPLETED)
        .order_by("id")
        .only("id", "name", "input_content", "output")
    )


def flow_outputs_jsonl(*, flow: Flow) -> Iterator[bytes]:
    """One output document per completed loop, one line each."""
    for loop in _completed(flow).iterator(chunk_size=EXPORT_CHUNK):
        if loop.output is not None:
            line = json.dumps(loop.output, ensure_ascii=False, separators=(",", ":"))
            yield (line + "\n").encode()


def _iou(a: Any, b: Any) -> float | str:
    if a is None or b is None:
        return ""
    return round(box_overlap(a, b), 4)


def _moved(iou: float | str) -> bool:
    return iou != "" and iou < MOVED_BELOW_IOU


def _change(detected: Pair | None, reviewed: Pair | None) -> tuple[str, Any, Any]:
    if detected is None:
        return "added", "", ""
    if reviewed is None:
        return "deleted", "", ""
    key_iou = _iou(detected.key_box, reviewed.key_box)
    value_iou = _iou(detected.value_box, reviewed.value_box)
    changes = []
    if normalise(detected.key) != normalise(reviewed.key):
        changes.append("key")
    if normalise(detected.value) != normalise(reviewed.value):
        changes.append("value")
    added_or_dropped = (detected.key_box is None) != (reviewed.key_box is None) or (
        detected.value_box is None
    ) != (reviewed.value_box is None)
    if _moved(key_iou) or _moved(value_iou) or added_or_dropped:
        changes.append("box")
    return ("+".join(changes) or "unchanged"), key_iou, value_iou


def correction_rows(
    detected: list[Pair], reviewed: list[Pair]
) -> list[tuple[Pair | None, Pair | None]]:
    """Detected and reviewed pairs matched: by key block id, then by key text."""
    by_id = {p.key_id: p for p in reviewed if p.key_id}
    by_text = {normalise(p.key): p for p in reviewed}
    used: set[int] = set()
    rows: list[tuple[Pair | None, Pair | None]] = []
    for pair in detected:
        match = by_id.get(pair.key_id) or by_text.get(normalise(pair.key))
        if match is not None and id(match) in used:
            match = None
        if match is not None:
            used.add(id(match))
        rows.append((pair, match))
    rows.extend((None, p) for p in reviewed if id(p) not in used)
    return rows


def key_value_corrections_csv(*, flow: Flow) -> Iterator[str]:
    """Every reviewer's answer to every completed loop against the detected pairs, one row
    per pair (written through the spreadsheet-safe CSV writer)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CORRECTION_COLUMNS)
    for loop in _completed(flow).iterator(chunk_size=EXPORT_CHUNK):
        try:
            detected = loop_inference(TEXTRACT_FORMS, json.loads(loop.input_content)).pairs
        except (InputProblem, ValueError):
            continue
        for answer in (loop.output or {}).get("humanAnswers", []):
            blocks = (answer.get("answerContent") or {}).get(TEXTRACT_FORMS, {}).get("blocks", [])
            for old, new in correction_rows(detected, key_value_pairs(blocks)):
                change, key_iou, value_iou = _change(old, new)
                shown = new or old
                writer.writerow(
                    [
                        loop.name,
                        answer.get("workerId", ""),
                        shown.key if shown else "",
                        old.key if old else "",
                        old.value if old else "",
                        new.value if new else "",
                        change,
                        "" if old is None or old.confidence is None else round(old.confidence, 4),
                        key_iou,
                        value_iou,
                    ]
                )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
