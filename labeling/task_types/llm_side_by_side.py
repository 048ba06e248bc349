"""LLM evaluation, side-by-side comparison: two model outputs on one prompt judged on each
dimension (the job's labels) and overall: A / B / tie with a strength, and a rationale.

An item is ``{"prompt": "...", "response_a": "...", "response_b": "..."}`` (other keys, such
as the models' names, are kept); an answer is ``{"dimensions": {"<dimension>":
{"preference", "strength"}, ..., "overall": {...}}, "rationale": "..."}`` (or that under the
element's name). Each dimension consolidates like the pairwise type: Crowd-BT's reliability
(one η per worker, fitted over every dimension of the job's answers) weighs the answers
(``labeling.consolidation.bradley_terry``). The preference pairs export per dimension as
JSON Lines ``{"prompt", "chosen", "rejected", "dimension"}``.
"""

from dataclasses import dataclass
from typing import Any

from labeling.consolidation.bradley_terry import (
    CROWD_BT,
    PREFERENCE_VOTE,
    item_preference,
)
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    csv_compact_json,
    register_task_type,
)
from labeling.task_types.llm_pairwise import (
    OUTCOME,
    PREFERENCES,
    STRENGTHS,
    TEXT_FIELDS,
    fitted_reliability,
)
from labeling.task_types.text_common import check_text_fields, element_answer

OVERALL = "overall"
RATIONALE_MAX_CHARS = 5_000


def dimensions_of(labels: list[str]) -> list[str]:
    """The job's labels and "overall" (once, last unless the labels place it)."""
    return list(labels) if OVERALL in labels else [*labels, OVERALL]


def _choice(choice: Any, name: str) -> dict[str, Any]:
    if isinstance(choice, str):
        choice = {"preference": choice}
    if not isinstance(choice, dict) or choice.get("preference") not in PREFERENCES:
        raise AnswerProblem(f'{name!r} needs {{"preference": "A" | "B" | "tie", "strength"}}')
    strength = choice.get("strength", 1)
    if isinstance(strength, bool) or strength not in STRENGTHS:
        raise AnswerProblem(f"the strength of {name!r} must be 1, 2 or 3, not {strength!r}")
    return {"preference": choice["preference"], "strength": strength}


@dataclass(frozen=True)
class LlmSideBySide:
    key: str = "llm-side-by-side"
    title: str = "LLM evaluation: side-by-side comparison per dimension"
    media: str = "text"
    manifest_type: str = "groundtruth/llm-side-by-side"
    template_name: str = "tasks/llm_side_by_side.html"
    consolidation: str = PREFERENCE_VOTE
    export_formats: tuple[str, ...] = ("preferences",)
    # A model may post a judgment shaped as an answer (labeling/services/machine_labels.py).
    takes_model_judgments: bool = True
    # The keys of an item; a review loop's input content gives them (workflows/services/loops.py).
    item_fields: tuple[str, ...] = TEXT_FIELDS

    def check_source(self, line: dict[str, Any]) -> None:
        check_text_fields(line, TEXT_FIELDS, "an LLM side-by-side item")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        answer = element_answer(answer, "dimensions")
        given = answer.get("dimensions") if isinstance(answer, dict) else None
        if not isinstance(given, dict):
            raise AnswerProblem(
                'the answer must be {"dimensions": {"<dimension>": {"preference": "A" | "B" | '
                '"tie", "strength": 1 | 2 | 3}, ...}, "rationale": "..."}'
            )
        names = dimensions_of(labels)
        unknown = [name for name in given if name not in names]
        if unknown:
            raise AnswerProblem(f"{unknown[0]!r} is not a dimension: {', '.join(names)}")
        missing = [name for name in names if name not in given]
        if missing:
            raise AnswerProblem(f"judge every dimension; {missing[0]!r} has no choice")
        rationale = answer.get("rationale", "")
        if not isinstance(rationale, str) or len(rationale) > RATIONALE_MAX_CHARS:
            raise AnswerProblem(
                f"rationale must be a text of at most {RATIONALE_MAX_CHARS} characters"
            )
        dimensions = {name: _choice(given[name], name) for name in names}
        return ParsedAnswer(
            answer={"dimensions": dimensions, "rationale": rationale},
            label=dimensions[OVERALL]["preference"],
        )

    def answer_weights(
        self, job_answers: list[tuple[int, int, dict]], worker_ids: list[int], labels: list[str]
    ) -> list[float]:
        """Each of ``worker_ids``' η from one Crowd-BT fit over every (item, dimension) of the
        job's answers: a worker's reliability is shared by the dimensions they judge."""
        pair_index: dict[tuple[int, str], int] = {}
        worker_index = {w: i for i, w in enumerate(dict.fromkeys(worker_ids))}
        pairs, workers, outcomes = [], [], []
        for item_id, worker_id, answer in job_answers:
            for name, choice in answer.get("dimensions", {}).items():
                pairs.append(pair_index.setdefault((item_id, name), len(pair_index)))
                workers.append(worker_index.setdefault(worker_id, len(worker_index)))
                outcomes.append(OUTCOME[choice["preference"]])
        return fitted_reliability(
            pairs, workers, outcomes, len(pair_index), worker_index, worker_ids
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        reliability: list[float] | None = None,
    ) -> Consolidated:
        """Per dimension, the pairwise type's consolidation (the reliability-weighted
        posterior with ``reliability``); the item's confidence is the overall one's."""
        dimensions: dict[str, dict[str, Any]] = {}
        for name in dimensions_of(labels):
            rows = [
                (a["dimensions"][name], w)
                for a, w in zip(answers, reliability or [None] * len(answers), strict=True)
                if name in a["dimensions"]
            ]
            eta = None if reliability is None else [w for _, w in rows]
            outcomes = [OUTCOME[choice["preference"]] for choice, _ in rows]
            preference, confidence, p_a = item_preference(outcomes, eta)
            agreeing = [c["strength"] for c, _ in rows if c["preference"] == preference]
            dimensions[name] = {
                "preference": preference,
                "confidence": round(confidence, 6),
                "p_a": round(p_a, 6),
                "strength": round(sum(agreeing) / len(agreeing), 3) if agreeing else 0,
                "votes": {p: sum(1 for c, _ in rows if c["preference"] == p) for p in PREFERENCES},
            }
        overall = dimensions[OVERALL]
        return Consolidated(
            value={
                "dimensions": dimensions,
                "rationales": [a["rationale"] for a in answers if a.get("rationale")],
            },
            confidence=overall["confidence"],
            method=PREFERENCE_VOTE if reliability is None else CROWD_BT,
            label=overall["preference"],
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return {name: d["preference"] for name, d in value["dimensions"].items()}, {
            "confidence-map": {name: d["confidence"] for name, d in value["dimensions"].items()},
            "strength-map": {name: d["strength"] for name, d in value["dimensions"].items()},
            "rationales": value["rationales"],
        }

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_compact_json(
            {name: d["preference"] for name, d in value["dimensions"].items()}, sort_keys=True
        ), ""


LLM_SIDE_BY_SIDE = register_task_type(LlmSideBySide())
