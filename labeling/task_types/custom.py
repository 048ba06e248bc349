"""Custom task type: the manager's own template decides what an answer is.

Any JSON object the template's crowd-form submits is an answer (bounded in size). With
several workers per item, the answer given most often wins (compared as canonical JSON),
its share of the answers being the confidence; ties go to the earliest answer.
"""

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_compact_json,
    register_task_type,
)

MAX_ANSWER_BYTES = 256 * 1024
SAME_ANSWER = "same-answer-majority"


@dataclass(frozen=True)
class CustomTaskType:
    key: str = "custom"
    title: str = "Custom template"
    media: str = "any"
    manifest_type: str = "groundtruth/custom"
    template_name: str = ""  # the job's custom template version decides
    consolidation: str = SAME_ANSWER

    def check_source(self, line: dict[str, Any]) -> None:
        if not line:
            raise SourceProblem("an item needs at least one field")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        if not isinstance(answer, dict):
            raise AnswerProblem("the answer must be a JSON object")
        if len(json.dumps(answer)) > MAX_ANSWER_BYTES:
            raise AnswerProblem(f"the answer is larger than {MAX_ANSWER_BYTES} bytes")
        return ParsedAnswer(answer=answer)

    def consolidate_answers(
        self, answers: list[dict[str, Any]], labels: list[str], *, item_data: dict[str, Any]
    ) -> Consolidated:
        keys = [json.dumps(a, sort_keys=True, separators=(",", ":")) for a in answers]
        counts = Counter(keys)
        best = max(counts.values()) if counts else 0
        winner = next((k for k in keys if counts[k] == best), None)
        value = json.loads(winner) if winner is not None else {}
        confidence = best / len(answers) if answers else 0.0
        return Consolidated(value=value, confidence=round(confidence, 6), method=SAME_ANSWER)

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        """The consolidated answer as compact JSON, its keys sorted on every database."""
        return csv_compact_json(value, sort_keys=True), ""


CUSTOM = register_task_type(CustomTaskType())
