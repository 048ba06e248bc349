"""LLM evaluation, pairwise preference: which of two responses to one prompt is better.

An item is ``{"prompt": "...", "response_a": "...", "response_b": "..."}``; an answer is
``{"preference": "A" | "B" | "tie", "strength": 1..3}`` (or that under the element's name).
Answers consolidate with Bradley–Terry and per-worker reliability (Crowd-BT,
``labeling.consolidation.bradley_terry``); the preference pairs export as JSON Lines
``{"prompt", "chosen", "rejected"}``.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.bradley_terry import (
    CROWD_BT,
    FIRST,
    PREFERENCE_VOTE,
    SECOND,
    TIE,
    crowd_bt,
    item_preference,
)
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    register_task_type,
)
from labeling.task_types.text_common import check_text_fields, element_answer

PREFERENCES = ("A", "B", "tie")
OUTCOME = {"A": FIRST, "B": SECOND, "tie": TIE}
STRENGTHS = (1, 2, 3)
TEXT_FIELDS = ("prompt", "response_a", "response_b")


def outcome_of(answer: dict[str, Any]) -> float:
    """A stored answer as a Crowd-BT outcome: 1 (A better), 0 (B better), 0.5 (tie)."""
    return OUTCOME[answer["preference"]]


@dataclass(frozen=True)
class LlmPairwisePreference:
    key: str = "llm-pairwise-preference"
    title: str = "LLM evaluation: pairwise preference (A / B / tie)"
    media: str = "text"
    manifest_type: str = "groundtruth/llm-pairwise-preference"
    template_name: str = "tasks/llm_pairwise_preference.html"
    consolidation: str = PREFERENCE_VOTE
    export_formats: tuple[str, ...] = ("preferences",)
    # A model may post a judgment shaped as an answer (labeling/services/machine_labels.py).
    takes_model_judgments: bool = True
    # The keys of an item; a review loop's input content gives them (workflows/services/loops.py).
    item_fields: tuple[str, ...] = TEXT_FIELDS

    def check_source(self, line: dict[str, Any]) -> None:
        check_text_fields(line, TEXT_FIELDS, "an LLM pairwise item")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Takes ``{"preference", "strength"}`` or ``{"<name>": {"preference", ...}}``."""
        answer = element_answer(answer, "preference")
        if not isinstance(answer, dict) or answer.get("preference") not in PREFERENCES:
            raise AnswerProblem(
                'the answer must be {"preference": "A" | "B" | "tie", "strength": 1 | 2 | 3}'
            )
        strength = answer.get("strength", 1)
        if isinstance(strength, bool) or strength not in STRENGTHS:
            raise AnswerProblem(f"strength must be 1, 2 or 3, not {strength!r}")
        return ParsedAnswer(answer={"preference": answer["preference"], "strength": strength})

    def answer_weights(
        self, job_answers: list[tuple[int, int, dict]], worker_ids: list[int], labels: list[str]
    ) -> list[float]:
        """Each of ``worker_ids``' η from a Crowd-BT fit of the job's answers ((item id,
        worker id, answer) each); the consolidation service passes them as ``reliability``."""
        item_index: dict[int, int] = {}
        worker_index = {w: i for i, w in enumerate(dict.fromkeys(worker_ids))}
        items, workers, outcomes = [], [], []
        for item_id, worker_id, answer in job_answers:
            items.append(item_index.setdefault(item_id, len(item_index)))
            workers.append(worker_index.setdefault(worker_id, len(worker_index)))
            outcomes.append(outcome_of(answer))
        return fitted_reliability(
            items, workers, outcomes, len(item_index), worker_index, worker_ids
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        reliability: list[float] | None = None,
    ) -> Consolidated:
        """The majority of the decisive answers; with ``reliability`` (each answer's worker
        η from the job's Crowd-BT fit) the reliability-weighted posterior."""
        outcomes = [outcome_of(a) for a in answers]
        preference, confidence, p_a = item_preference(outcomes, reliability)
        agreeing = [a["strength"] for a in answers if a["preference"] == preference]
        value = {
            "preference": preference,
            "p_a": round(p_a, 6),
            "strength": round(sum(agreeing) / len(agreeing), 3) if agreeing else 0,
            "votes": {p: sum(1 for a in answers if a["preference"] == p) for p in PREFERENCES},
        }
        method = PREFERENCE_VOTE if reliability is None else CROWD_BT
        return Consolidated(
            value=value, confidence=round(confidence, 6), method=method, label=preference
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return value["preference"], {"p-a": value["p_a"], "strength": value["strength"]}

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return value["preference"], ""


LLM_PAIRWISE_PREFERENCE = register_task_type(LlmPairwisePreference())


def fitted_reliability(
    items: list[int],
    workers: list[int],
    outcomes: list[float],
    n_items: int,
    worker_index: dict[int, int],
    worker_ids: list[int],
) -> list[float]:
    """Each of ``worker_ids``' reliability η from a job-wide Crowd-BT fit of the comparisons
    (item index, worker index, outcome); the pairwise and side-by-side types share it."""
    fit = crowd_bt(
        np.array(items, dtype=np.int64),
        np.array(workers, dtype=np.int64),
        np.array(outcomes, dtype=np.float64),
        n_items=n_items,
        n_workers=len(worker_index),
    )
    return [float(fit.eta[worker_index[w]]) for w in worker_ids]
