"""LLM evaluation, question–answer writing: a worker reads a context and writes question–
answer pairs about it, each with optional tags (the job's labels).

An item is ``{"context": "...", "min_questions"?: 1, "max_questions"?: 5}``; an answer is
the ``crowd-question-answer-generation`` element's ``{"questionAnswerPairs": [{"question",
"answer", "tags"}]}`` (under the element's name or not). Stored as ``{"pairs": [...]}``;
consolidated by collecting every pair and merging near-identical questions
(``labeling.consolidation.qa_pairs``); exported as JSON Lines ``{"context", "question",
"answer", "tags"}``.
"""

from dataclasses import dataclass
from typing import Any

from labeling.consolidation.qa_pairs import QA_COLLECT, collect_pairs
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_compact_json,
    register_task_type,
)
from labeling.task_types.text_common import check_text_fields, element_answer

DEFAULT_MIN_QUESTIONS = 1
DEFAULT_MAX_QUESTIONS = 5
MAX_QUESTIONS = 50
PAIR_TEXT_MAX_CHARS = 5_000


def question_limits(item_data: dict[str, Any]) -> tuple[int, int]:
    """The item's (min, max) number of pairs, with the defaults for what it leaves out."""
    low = item_data.get("min_questions", DEFAULT_MIN_QUESTIONS)
    high = item_data.get("max_questions", max(DEFAULT_MAX_QUESTIONS, low))
    return low, high


def _pair(pair: Any, number: int, labels: list[str]) -> dict[str, Any]:
    if not isinstance(pair, dict):
        raise AnswerProblem(f'pair {number} must be {{"question", "answer", "tags"}}')
    out: dict[str, Any] = {}
    for key in ("question", "answer"):
        text = pair.get(key)
        if not isinstance(text, str) or not text.strip():
            raise AnswerProblem(f"pair {number} needs its {key}")
        if len(text) > PAIR_TEXT_MAX_CHARS:
            raise AnswerProblem(
                f"the {key} of pair {number} has {len(text)} characters; "
                f"the limit is {PAIR_TEXT_MAX_CHARS}"
            )
        out[key] = text.strip()
    tags = pair.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise AnswerProblem(f"the tags of pair {number} must be a list of texts")
    unknown = [t for t in tags if t not in labels]
    if unknown:
        raise AnswerProblem(f"{unknown[0]!r} is not a question tag: {', '.join(labels)}")
    out["tags"] = list(dict.fromkeys(tags))
    return out


@dataclass(frozen=True)
class LlmQaWriting:
    key: str = "llm-qa-writing"
    title: str = "LLM evaluation: write question–answer pairs about a context"
    media: str = "text"
    manifest_type: str = "groundtruth/llm-qa-writing"
    template_name: str = "tasks/llm_qa_writing.html"
    consolidation: str = QA_COLLECT
    export_formats: tuple[str, ...] = ("qa-pairs",)
    # A model may post a judgment shaped as an answer (labeling/services/machine_labels.py).
    takes_model_judgments: bool = True
    # The keys of an item; a review loop's input content gives them (workflows/services/loops.py).
    item_fields: tuple[str, ...] = ("context", "min_questions", "max_questions")
    # The consolidation service passes each answer's worker id (the pairs' provenance).
    answers_with_workers: bool = True

    def check_source(self, line: dict[str, Any]) -> None:
        check_text_fields(line, ("context",), "an LLM question–answer item")
        for key in ("min_questions", "max_questions"):
            value = line.get(key)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 1 <= value <= MAX_QUESTIONS
            ):
                raise SourceProblem(f'"{key}" must be a whole number from 1 to {MAX_QUESTIONS}')
        low, high = question_limits(line)
        if low > high:
            raise SourceProblem(f'"min_questions" ({low}) is more than "max_questions" ({high})')

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        low, high = question_limits(line)
        return {"min_questions": low, "max_questions": high}

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Takes ``{"questionAnswerPairs": [...]}``, ``{"pairs": [...]}`` or either under the
        element's name."""
        answer = element_answer(element_answer(answer, "questionAnswerPairs"), "pairs")
        pairs = None
        if isinstance(answer, dict):
            pairs = answer.get("questionAnswerPairs", answer.get("pairs"))
        if not isinstance(pairs, list):
            raise AnswerProblem(
                'the answer must be {"questionAnswerPairs": [{"question", "answer", "tags"}]}'
            )
        if not pairs:
            raise AnswerProblem("write at least one question–answer pair")
        if len(pairs) > MAX_QUESTIONS:
            raise AnswerProblem(f"at most {MAX_QUESTIONS} pairs; this answer has {len(pairs)}")
        return ParsedAnswer(
            answer={"pairs": [_pair(p, n, labels) for n, p in enumerate(pairs, start=1)]}
        )

    def check_answer_for_item(self, answer: dict[str, Any], item_data: dict[str, Any]) -> None:
        """Refuse fewer or more pairs than the item asks for."""
        low, high = question_limits(item_data)
        count = len(answer["pairs"])
        if not low <= count <= high:
            raise AnswerProblem(f"this item takes {low} to {high} pairs; the answer has {count}")

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        workers: list[int] | None = None,
    ) -> Consolidated:
        """Every pair, near-identical questions merged; the confidence is 1 (nothing is voted
        on; a second-stage rating job judges the pairs, see docs/llm-evaluation.md)."""
        pairs, duplicates = collect_pairs([a["pairs"] for a in answers], workers)
        return Consolidated(
            value={"pairs": pairs, "duplicates": duplicates},
            confidence=1.0 if pairs else 0.0,
            method=QA_COLLECT,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return [
            {"question": p["question"], "answer": p["answer"], "tags": p["tags"]}
            for p in value["pairs"]
        ], {"duplicates": value["duplicates"], "sources": [p["sources"] for p in value["pairs"]]}

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_compact_json(
            [{"question": p["question"], "answer": p["answer"]} for p in value["pairs"]]
        ), ""


LLM_QA_WRITING = register_task_type(LlmQaWriting())
