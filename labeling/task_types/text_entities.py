"""Named entity recognition: labeled spans of a text, offsets in Unicode code points.

Offsets count code points, as Python's ``len`` and slicing do (the task UI converts from
the UTF-16 units of JavaScript). An item is ``{"source": text}``, optionally with
``"tokens": [[start, end], ...]`` for a pre-tokenized text. Two task types: one where the
spans of an answer may not overlap, and one where they may.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.spans import SPAN_CLUSTERING, Span, consolidate_spans
from labeling.task_types import compared
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_compact_json,
    register_task_type,
)
from labeling.task_types.text_common import check_text_source, element_answer

MAX_ENTITIES = 5_000


def check_tokens(tokens: Any, length: int) -> None:
    if not isinstance(tokens, list):
        raise SourceProblem('"tokens" must be a list of [start, end] pairs')
    previous_end = 0
    for number, pair in enumerate(tokens):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in pair)
        ):
            raise SourceProblem(f'token {number} of "tokens" is not a [start, end] pair')
        start, end = pair
        if not (previous_end <= start < end <= length):
            raise SourceProblem(
                f'token {number} [{start}, {end}] of "tokens" is out of order or outside the text'
            )
        previous_end = end


@dataclass(frozen=True)
class EntityRecognition:
    key: str
    title: str
    allow_overlap: bool
    media: str = "text"
    manifest_type: str = "groundtruth/text-span"
    template_name: str = "tasks/text_entity_recognition.html"
    consolidation: str = SPAN_CLUSTERING
    # Issue 19: consolidate_answers takes the workers' stored reliabilities as weights.
    weighted_by_reliability = True

    def check_source(self, line: dict[str, Any]) -> None:
        source = check_text_source(line)
        if "tokens" in line:
            check_tokens(line["tokens"], len(source))

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Takes ``{"entities": [...]}`` or the element form ``{"<name>": {"entities": [...]}}``.

        The text's length is not known here, so offsets are checked for shape and order;
        ``check_answer_for_item`` checks them against the item's text at submit.
        """
        answer = element_answer(answer, "entities")
        entities = answer.get("entities") if isinstance(answer, dict) else None
        if not isinstance(entities, list):
            raise AnswerProblem(
                'the answer must be {"entities": [{"label", "startOffset", "endOffset"}, ...]}'
            )
        if len(entities) > MAX_ENTITIES:
            raise AnswerProblem(f"an answer holds at most {MAX_ENTITIES} entities")
        cleaned = []
        for number, entity in enumerate(entities):
            if not isinstance(entity, dict):
                raise AnswerProblem(f"entity {number} is not an object")
            label, start, end = (entity.get(k) for k in ("label", "startOffset", "endOffset"))
            if label not in labels:
                raise AnswerProblem(
                    f"entity {number}: {label!r} is not one of the job's labels: "
                    f"{', '.join(labels)}"
                )
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
                raise AnswerProblem(f"entity {number}: startOffset and endOffset must be integers")
            if not 0 <= start < end:
                raise AnswerProblem(f"entity {number}: needs 0 <= startOffset < endOffset")
            cleaned.append({"label": label, "startOffset": start, "endOffset": end})
        cleaned.sort(key=lambda e: (e["startOffset"], e["endOffset"], e["label"]))
        if not self.allow_overlap:
            for before, after in zip(cleaned, cleaned[1:], strict=False):
                if after["startOffset"] < before["endOffset"]:
                    raise AnswerProblem(
                        f"the spans {before['startOffset']}–{before['endOffset']} and "
                        f"{after['startOffset']}–{after['endOffset']} overlap; this job does not "
                        "allow overlapping spans"
                    )
        return ParsedAnswer(answer={"entities": cleaned})

    def check_answer_for_item(self, answer: dict[str, Any], item_data: dict[str, Any]) -> None:
        """Refuse a parsed answer whose spans run past the end of the item's text."""
        length = len(item_data.get("source", ""))
        for number, entity in enumerate(answer["entities"]):
            if entity["endOffset"] > length:
                raise AnswerProblem(
                    f"entity {number} ({entity['startOffset']}–{entity['endOffset']}) runs past "
                    f"the end of the text, which has {length} characters"
                )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any],
        weights: list[float] | None = None,
    ) -> Consolidated:
        index = {label: i for i, label in enumerate(labels)}
        # The answer's check could not see the text; spans past its end are left out here.
        length = len(item_data.get("source", ""))
        spans = [
            Span(e["startOffset"], e["endOffset"], index[e["label"]], worker)
            for worker, answer in enumerate(answers)
            for e in answer.get("entities", [])
            if e.get("label") in index and e["endOffset"] <= length
        ]
        entities = consolidate_spans(
            spans,
            n_workers=len(answers),
            n_labels=len(labels),
            allow_overlap=self.allow_overlap,
            weights=None if weights is None else np.asarray(weights, dtype=np.float64),
        )
        value = {
            "entities": [
                {"label": labels[e.label], "startOffset": e.start, "endOffset": e.end}
                for e in entities
            ],
            "confidences": [e.confidence for e in entities],
        }
        if entities:
            confidence = sum(e.confidence for e in entities) / len(entities)
        else:  # agreement that there is nothing to mark
            empty = sum(1 for a in answers if not a.get("entities"))
            confidence = empty / len(answers) if answers else 0.0
        return Consolidated(value=value, confidence=round(confidence, 6), method=SPAN_CLUSTERING)

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """Soft span F1: same-label spans matched one to one, each credited its Jaccard."""
        return compared.spans_match(answer, other, labels).score

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        """The managed service's named-entity output: ``{"annotations": {"labels", "entities"}}``
        and, in the metadata, each entity's confidence (issue 16: without it every labeled line
        was left out of the manifest, so no chain could read an entity job's output)."""
        entities = [
            {"label": e["label"], "startOffset": e["startOffset"], "endOffset": e["endOffset"]}
            for e in value["entities"]
        ]
        confidences = value.get("confidences") or [None] * len(entities)
        return (
            {
                "annotations": {
                    "labels": [{"label": label} for label in labels],
                    "entities": entities,
                }
            },
            {"entities": [{"confidence": c} for c in confidences]},
        )

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return [entity["label"] for entity in value["entities"]]

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        """The spans as compact JSON: [{"label", "startOffset", "endOffset"}, ...]."""
        spans = [
            {"label": e["label"], "startOffset": e["startOffset"], "endOffset": e["endOffset"]}
            for e in value["entities"]
        ]
        return csv_compact_json(spans), ""


TEXT_ENTITY_RECOGNITION = register_task_type(
    EntityRecognition(
        key="text-entity-recognition",
        title="Named entity recognition (spans do not overlap)",
        allow_overlap=False,
    )
)
TEXT_ENTITY_RECOGNITION_OVERLAPPING = register_task_type(
    EntityRecognition(
        key="text-entity-recognition-overlapping",
        title="Named entity recognition (overlapping spans allowed)",
        allow_overlap=True,
    )
)
