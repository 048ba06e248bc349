"""Multi-label classification of texts: any number of the job's labels per text."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.multilabel import MULTILABEL_VOTE, multilabel_vote
from labeling.consolidation.weighted_multilabel import WEIGHTED_MULTILABEL, weighted_item_vote
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    csv_multilabel_columns,
    register_task_type,
)
from labeling.task_types.text_common import check_text_source, element_answer


@dataclass(frozen=True)
class TextMultiLabelClassification:
    key: str = "text-classification-multilabel"
    title: str = "Text classification (multi-label)"
    media: str = "text"
    manifest_type: str = "groundtruth/text-classification-multilabel"
    template_name: str = "tasks/text_classification_multilabel.html"
    consolidation: str = MULTILABEL_VOTE
    votes_by_class: bool = True  # issue 5: consolidate_answers takes per-answer weights

    def check_source(self, line: dict[str, Any]) -> None:
        check_text_source(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Takes ``{"labels": [...]}`` or the element form ``{"<name>": {"labels": [...]}}``."""
        answer = element_answer(answer, "labels")
        chosen = answer.get("labels") if isinstance(answer, dict) else None
        if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
            raise AnswerProblem('the answer must be {"labels": ["<label>", ...]}')
        unknown = [c for c in chosen if c not in labels]
        if unknown:
            raise AnswerProblem(
                f"{unknown[0]!r} is not one of the job's labels: {', '.join(labels)}"
            )
        ordered = [label for label in labels if label in set(chosen)]
        return ParsedAnswer(answer={"labels": ordered})

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any],
        weights: list[float] | None = None,
    ) -> Consolidated:
        """Per-class majority; with ``weights`` (one per answer: the workers' reliability
        weights under an EM method) a weighted vote, unless no answer carries weight."""
        chosen = np.array(
            [[label in set(a.get("labels", [])) for label in labels] for a in answers], dtype=bool
        ).reshape(len(answers), len(labels))
        method = MULTILABEL_VOTE
        kept, share, confidence = multilabel_vote(chosen)
        weighted = weighted_item_vote(chosen, weights) if weights is not None else None
        if weighted is not None:
            method, share = WEIGHTED_MULTILABEL, weighted
            kept = share > 0.5
            confidence = np.where(kept, share, 1.0 - share)
        class_ids = [int(i) for i in np.flatnonzero(kept)]
        value = {
            "labels": [labels[i] for i in class_ids],
            "class_ids": class_ids,
            "confidence_map": {str(i): round(float(share[i]), 6) for i in class_ids},
        }
        overall = float(confidence.min()) if len(labels) else 0.0
        return Consolidated(value=value, confidence=round(overall, 6), method=method)

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_multilabel_columns(value)


TEXT_CLASSIFICATION_MULTILABEL = register_task_type(TextMultiLabelClassification())
