"""LLM evaluation, ranking: order N responses to one prompt on each dimension (the job's
labels), ties allowed.

An item is ``{"prompt": "...", "responses": ["...", "...", ...]}`` (2 to 10); an answer is
the ``crowd-text-ranking`` element's ``{"ordinalRankingDimensions": [{"name", "allowTie",
"ranks": [..]}]}`` (under the element's name or not) or ``{"ranks": {"<dimension>": [..]}}``;
ranks are 1..N in the order of ``responses``. Stored as ``{"ranks": {...}}``; consolidated
per dimension by mean rank (``labeling.consolidation.ranking``).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings

from labeling.consolidation.ranking import RANK_BORDA, RANK_WEIGHTED, aggregate_ranks, ranking_fit
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_compact_json,
    register_task_type,
)

MAX_RESPONSES = 10


def _ranks_of(answer: Any) -> Any:
    if isinstance(answer, dict) and len(answer) == 1:
        (only,) = answer.values()
        if isinstance(only, dict) and ("ordinalRankingDimensions" in only or "ranks" in only):
            answer = only
    if isinstance(answer, dict) and isinstance(answer.get("ordinalRankingDimensions"), list):
        return {
            d.get("name"): d.get("ranks")
            for d in answer["ordinalRankingDimensions"]
            if isinstance(d, dict)
        }
    return answer.get("ranks") if isinstance(answer, dict) else None


@dataclass(frozen=True)
class LlmRanking:
    key: str = "llm-ranking"
    title: str = "LLM evaluation: rank N responses (ties allowed)"
    media: str = "text"
    manifest_type: str = "groundtruth/llm-ranking"
    template_name: str = "tasks/llm_ranking.html"
    consolidation: str = RANK_BORDA
    export_formats: tuple[str, ...] = ("rankings",)
    # A model may post a judgment shaped as an answer (labeling/services/machine_labels.py).
    takes_model_judgments: bool = True
    # The keys of an item; a review loop's input content gives them (workflows/services/loops.py).
    item_fields: tuple[str, ...] = ("prompt", "responses")

    def check_source(self, line: dict[str, Any]) -> None:
        prompt, responses = line.get("prompt"), line.get("responses")
        if not isinstance(prompt, str) or not prompt.strip():
            raise SourceProblem('an LLM ranking item needs "prompt" as a non-empty string')
        if (
            not isinstance(responses, list)
            or not 2 <= len(responses) <= MAX_RESPONSES
            or not all(isinstance(r, str) and r.strip() for r in responses)
        ):
            raise SourceProblem(
                f'"responses" must be a list of 2 to {MAX_RESPONSES} non-empty strings'
            )
        longest = max(len(prompt), *(len(r) for r in responses))
        if longest > settings.QUORUM_TEXT_MAX_CHARS:
            raise SourceProblem(
                f"a text has {longest} characters; the limit is {settings.QUORUM_TEXT_MAX_CHARS}"
            )

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        ranks = _ranks_of(answer)
        if not isinstance(ranks, dict):
            raise AnswerProblem('the answer must be {"ranks": {"<dimension>": [1, 2, ...]}}')
        missing = [name for name in labels if name not in ranks]
        if missing:
            raise AnswerProblem(f"rank the responses on every dimension; {missing[0]!r} is missing")
        unknown = [name for name in ranks if name not in labels]
        if unknown:
            raise AnswerProblem(f"{unknown[0]!r} is not a dimension: {', '.join(labels)}")
        for name in labels:
            row = ranks[name]
            if (
                not isinstance(row, list)
                or not 2 <= len(row) <= MAX_RESPONSES
                or not all(isinstance(r, int) and not isinstance(r, bool) for r in row)
                or not all(1 <= r <= len(row) for r in row)
            ):
                raise AnswerProblem(f"the ranks of {name!r} must be 1..N, one per response")
        return ParsedAnswer(answer={"ranks": {name: ranks[name] for name in labels}})

    def check_answer_for_item(self, answer: dict[str, Any], item_data: dict[str, Any]) -> None:
        """Refuse ranks whose count is not the item's number of responses."""
        n = len(item_data.get("responses", []))
        for name, row in answer["ranks"].items():
            if len(row) != n:
                raise AnswerProblem(f"{name!r} has {len(row)} ranks; the item has {n} responses")

    def answer_weights(
        self, job_answers: list[tuple[int, int, dict]], worker_ids: list[int], labels: list[str]
    ) -> list[float]:
        """Each of ``worker_ids``' weight from how often their orders agree with the
        consensus over the job's answers (``ranking_fit``, every dimension together)."""
        worker_index = {w: i for i, w in enumerate(dict.fromkeys(worker_ids))}
        groups: dict[tuple[int, str, int], tuple[list, list]] = {}
        for item_id, worker_id, answer in job_answers:
            for name, row in answer.get("ranks", {}).items():
                rows, workers = groups.setdefault((item_id, name, len(row)), ([], []))
                rows.append(row)
                workers.append(worker_index.setdefault(worker_id, len(worker_index)))
        fit = ranking_fit(
            [np.array(rows, dtype=np.float64) for rows, _ in groups.values()],
            [np.array(workers, dtype=np.int64) for _, workers in groups.values()],
            n_workers=len(worker_index),
        )
        return [float(fit.weight[worker_index[w]]) for w in worker_ids]

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any],
        reliability: list[float] | None = None,
    ) -> Consolidated:
        """Per dimension the Borda order (weighted by ``reliability``, each answer's worker
        weight from the job's fit, when given) and its confidence."""
        n = len(item_data.get("responses", []))
        weights = reliability or [1.0] * len(answers)
        ranks, confidences = {}, {}
        for name in labels:
            kept = [
                (a["ranks"][name], w)
                for a, w in zip(answers, weights, strict=True)
                if len(a["ranks"].get(name, [])) == n
            ]
            if not kept:
                continue
            ranks[name], confidence = aggregate_ranks(
                np.array([row for row, _ in kept]), np.array([w for _, w in kept])
            )
            confidences[name] = round(confidence, 6)
        overall = min(confidences.values()) if confidences else 0.0
        return Consolidated(
            value={"ranks": ranks, "confidences": confidences},
            confidence=round(overall, 6),
            method=RANK_BORDA if reliability is None else RANK_WEIGHTED,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return value["ranks"], {"confidence-map": value["confidences"]}

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_compact_json(value["ranks"], sort_keys=True), ""


LLM_RANKING = register_task_type(LlmRanking())
