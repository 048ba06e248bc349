"""Exports of the text task types: the managed service's manifest shapes, CoNLL 2003, spaCy.

Pluggable beside ``data/exports.py``: ``export_for`` answers with a stream for the formats and
task types it knows and ``None`` otherwise. Rows come through the same chunked cursor; the
consolidated value (``labels``/``class_ids`` or ``entities``) is what these formats need.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labeling.data.exports import (
    ExportTally,
    as_object,
    chunked,
    item_rows,
    reviewed_metadata,
    written,
)
from labeling.models import Job
from labeling.task_types import get_task_type

MULTILABEL = "groundtruth/text-classification-multilabel"
TEXT_SPAN = "groundtruth/text-span"
CUSTOM = "groundtruth/custom"
# Words (letters, digits, marks, joined by ' or -) and single symbols: the task UI's rule.
TOKEN = re.compile(r"[\w\u0300-\u036f'’-]+|[^\s]", re.UNICODE)

_FIELDS = (
    "id",
    "data",
    "consolidated__value",
    "consolidated__confidence",
    "consolidated__human_annotated",
    "consolidated__created_at",
    "consolidated__method",
)


@dataclass(frozen=True)
class ExportStream:
    body: Iterator[bytes]
    content_type: str
    suffix: str


def _splice(data: str, suffix: str) -> str:
    body = data[:-1].rstrip()
    separator = "" if body.endswith("{") else ","
    return f"{body}{separator}{suffix}}}\n"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def manifest_lines(job: Job, *, labeled_only: bool = False) -> Iterator[str]:
    """Augmented manifest lines in the managed service's multi-label or text-span shape (a
    custom template's answer goes under the label attribute as it was submitted)."""
    manifest_type = get_task_type(job.task_type).manifest_type
    attribute = json.dumps(job.label_attribute_name)
    metadata_key = json.dumps(f"{job.label_attribute_name}-metadata")
    job_name = f"labeling-job/{job.name}"

    def line_of(row: tuple) -> str:
        _id, data, value, confidence, human, created, method, review, reviewed_at = row
        if created is None:
            return data + "\n"
        value = as_object(value)
        metadata: dict[str, Any] = {
            "job-name": job_name,
            "type": manifest_type,
            "human-annotated": "yes" if human else "no",
            "creation-date": created.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "consolidation-method": method,
            **reviewed_metadata(review, reviewed_at),
        }
        if manifest_type == MULTILABEL:
            class_ids = value["class_ids"]
            label_value: Any = class_ids
            metadata["class-map"] = {str(i): job.labels[i] for i in class_ids}
            metadata["confidence-map"] = value.get("confidence_map", {})
        elif manifest_type == TEXT_SPAN:
            entities = value["entities"]
            label_value = {
                "annotations": {
                    "entities": entities,
                    "labels": [{"label": label} for label in job.labels],
                }
            }
            metadata["entities"] = [{"confidence": c} for c in value.get("confidences", [])]
        else:  # a custom template's answer, as its crowd-form submitted it
            label_value = value
        metadata["confidence"] = confidence
        return _splice(data, f"{attribute}:{_dumps(label_value)},{metadata_key}:{_dumps(metadata)}")

    tally = ExportTally(job, "manifest")
    fields = (*_FIELDS, "consolidated__review_status", "consolidated__reviewed_at")
    yield from written(tally, item_rows(job, labeled_only, fields), line_of)


def tokens_of(line: dict[str, Any]) -> list[tuple[int, int]]:
    """The item's tokens: its own ``tokens`` when pre-tokenized, else words and symbols."""
    given = line.get("tokens")
    if isinstance(given, list) and given:
        return [(int(s), int(e)) for s, e in given]
    return [(m.start(), m.end()) for m in TOKEN.finditer(line.get("source", ""))]


def bio_tags(tokens: list[tuple[int, int]], entities: list[dict[str, Any]]) -> list[str]:
    """BIO tags of ``tokens``: a token inside an entity is B- (first) or I- (after) its label.

    CoNLL has one tag per token; where entities overlap, the first (in reading order) wins.
    """
    tags = ["O"] * len(tokens)
    for entity in sorted(entities, key=lambda e: (e["startOffset"], -e["endOffset"])):
        start, end, label = entity["startOffset"], entity["endOffset"], entity["label"]
        inside = [i for i, (s, e) in enumerate(tokens) if s < end and start < e and tags[i] == "O"]
        for position, index in enumerate(inside):
            tags[index] = f"{'B' if position == 0 else 'I'}-{label}"
    return tags


def conll_lines(job: Job, *, labeled_only: bool = True) -> Iterator[str]:
    """CoNLL 2003: ``token -X- _ tag`` per line, a -DOCSTART- line and blank line per item."""

    def document_of(row: tuple) -> str:
        item_id, data, value, *_rest = row
        line = json.loads(data)
        text = line.get("source", "")
        tokens = tokens_of(line)
        tags = bio_tags(tokens, as_object(value)["entities"])
        parts = [f"-DOCSTART- -X- -X- O\n# item_id = {item_id}\n\n"]
        for (start, end), tag in zip(tokens, tags, strict=True):
            word = re.sub(r"\s+", "_", text[start:end])
            parts.append(f"{word} -X- _ {tag}\n")
        parts.append("\n")
        return "".join(parts)

    tally = ExportTally(job, "conll2003")
    yield from written(tally, item_rows(job, labeled_only, _FIELDS), document_of)


def spacy_lines(job: Job, *, labeled_only: bool = True) -> Iterator[str]:
    """spaCy-style JSON Lines: ``{"text", "ents": [{"start", "end", "label"}], "meta"}``."""

    def document_of(row: tuple) -> str:
        item_id, data, value, confidence, *_rest = row
        line = json.loads(data)
        entities = as_object(value)["entities"]
        document = {
            "text": line.get("source", ""),
            "ents": [
                {"start": e["startOffset"], "end": e["endOffset"], "label": e["label"]}
                for e in entities
            ],
            "meta": {"item_id": item_id, "confidence": confidence},
        }
        return _dumps(document) + "\n"

    tally = ExportTally(job, "spacy")
    yield from written(tally, item_rows(job, labeled_only, _FIELDS), document_of)


TEXT_FORMATS = ("conll2003", "spacy")


def export_for(job: Job, *, fmt: str, labeled_only: bool) -> ExportStream | None:
    """The stream of ``fmt`` for ``job``, or None when this module does not make it."""
    manifest_type = get_task_type(job.task_type).manifest_type
    if fmt == "manifest" and manifest_type in (MULTILABEL, TEXT_SPAN, CUSTOM):
        return ExportStream(
            chunked(manifest_lines(job, labeled_only=labeled_only)),
            "application/x-ndjson",
            "manifest.jsonl",
        )
    if fmt in TEXT_FORMATS and manifest_type != TEXT_SPAN:
        raise ValueError(f"the {fmt} export is for entity recognition jobs")
    if fmt == "conll2003":
        return ExportStream(
            chunked(conll_lines(job, labeled_only=True)), "text/plain; charset=utf-8", "conll"
        )
    if fmt == "spacy":
        return ExportStream(
            chunked(spacy_lines(job, labeled_only=True)), "application/x-ndjson", "spacy.jsonl"
        )
    return None
