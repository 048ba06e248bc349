"""LLM evaluation, rubric rating: a Likert score (1–5) per criterion for one response, with
a rationale. The job's labels are the criteria.

An item is ``{"prompt": "...", "response": "..."}``; an answer is
``{"ratings": {"<criterion>": 1..5, ...}, "rationale": "..."}`` (every criterion rated; the
rationale may be empty), or that under the element's name. Answers consolidate as
reliability-weighted medians per criterion (``labeling.consolidation.rubric``).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.rubric import RUBRIC_MEDIAN, RUBRIC_WEIGHTED, item_scores, rubric_fit
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    csv_compact_json,
    register_task_type,
)
from labeling.task_types.text_common import check_text_fields, element_answer

SCALE = 5
RATIONALE_MAX_CHARS = 5_000


@dataclass(frozen=True)
class LlmRubricRating:
    key: str = "llm-rubric-rating"
    title: str = "LLM evaluation: rubric rating (1–5 per criterion)"
    media: str = "text"
    manifest_type: str = "groundtruth/llm-rubric-rating"
    template_name: str = "tasks/llm_rubric_rating.html"
    consolidation: str = RUBRIC_MEDIAN
    export_formats: tuple[str, ...] = ("ratings",)
    # A model may post a judgment shaped as an answer (labeling/services/machine_labels.py).
    takes_model_judgments: bool = True
    # The keys of an item; a review loop's input content gives them (workflows/services/loops.py).
    item_fields: tuple[str, ...] = ("prompt", "response")

    def check_source(self, line: dict[str, Any]) -> None:
        check_text_fields(line, ("prompt", "response"), "an LLM rubric item")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Takes ``{"ratings", "rationale"}`` or ``{"<name>": {"ratings", ...}}``."""
        answer = element_answer(answer, "ratings")
        ratings = answer.get("ratings") if isinstance(answer, dict) else None
        if not isinstance(ratings, dict):
            raise AnswerProblem(
                'the answer must be {"ratings": {"<criterion>": 1..5, ...}, "rationale": "..."}'
            )
        unknown = [name for name in ratings if name not in labels]
        if unknown:
            raise AnswerProblem(f"{unknown[0]!r} is not a criterion: {', '.join(labels)}")
        missing = [name for name in labels if name not in ratings]
        if missing:
            raise AnswerProblem(f"rate every criterion; {missing[0]!r} has no rating")
        for name in labels:
            score = ratings[name]
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= SCALE:
                raise AnswerProblem(f"the rating of {name!r} must be 1 to {SCALE}, not {score!r}")
        rationale = answer.get("rationale", "")
        if not isinstance(rationale, str) or len(rationale) > RATIONALE_MAX_CHARS:
            raise AnswerProblem(
                f"rationale must be a text of at most {RATIONALE_MAX_CHARS} characters"
            )
        return ParsedAnswer(
            answer={"ratings": {name: ratings[name] for name in labels}, "rationale": rationale}
        )

    def answer_weights(
        self, job_answers: list[tuple[int, int, dict]], worker_ids: list[int], labels: list[str]
    ) -> list[float]:
        """Each of ``worker_ids``' weight from the job's answers (see ``rubric_fit``)."""
        item_index: dict[int, int] = {}
        worker_index = {w: i for i, w in enumerate(dict.fromkeys(worker_ids))}
        items, workers, scores = [], [], []
        for item_id, worker_id, answer in job_answers:
            ratings = answer.get("ratings", {})
            if any(name not in ratings for name in labels):
                continue
            items.append(item_index.setdefault(item_id, len(item_index)))
            workers.append(worker_index.setdefault(worker_id, len(worker_index)))
            scores.append([ratings[name] for name in labels])
        fit = rubric_fit(
            np.array(items, dtype=np.int64),
            np.array(workers, dtype=np.int64),
            np.array(scores, dtype=np.float64).reshape(len(scores), len(labels)),
            n_items=len(item_index),
            n_workers=len(worker_index),
        )
        return [float(fit.weight[worker_index[w]]) for w in worker_ids]

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        reliability: list[float] | None = None,
    ) -> Consolidated:
        scores = np.array(
            [[a["ratings"][name] for name in labels] for a in answers], dtype=np.float64
        ).reshape(len(answers), len(labels))
        if not len(answers):
            return Consolidated(
                value={"ratings": {}, "confidences": {}}, confidence=0.0, method=RUBRIC_MEDIAN
            )
        medians, confidence = item_scores(scores, reliability)
        value = {
            "ratings": {name: int(medians[c]) for c, name in enumerate(labels)},
            "confidences": {name: round(float(confidence[c]), 6) for c, name in enumerate(labels)},
            "rationales": [a["rationale"] for a in answers if a.get("rationale")],
        }
        method = RUBRIC_MEDIAN if reliability is None else RUBRIC_WEIGHTED
        return Consolidated(
            value=value, confidence=round(float(np.min(confidence)), 6), method=method
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return value["ratings"], {
            "confidence-map": value["confidences"],
            "rationales": value["rationales"],
        }

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_compact_json(value["ratings"], sort_keys=True), ""


LLM_RUBRIC_RATING = register_task_type(LlmRubricRating())
