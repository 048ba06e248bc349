"""Multi-label classification of texts: any number of the job's labels per text."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.multilabel import (
    MULTILABEL_EM,
    MULTILABEL_VOTE,
    decide,
    multilabel_vote,
)
from labeling.consolidation.multilabel_em import LabelReliability
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
    votes_by_class: bool = True  # issue 5: consolidate_answers takes workers' reliability

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

    def chosen_labels(self, answer: dict[str, Any]) -> list[str]:
        """The labels a stored answer picked."""
        return list(answer.get("labels", []))

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any],
        reliability: LabelReliability | None = None,
    ) -> Consolidated:
        """Per-class majority; with ``reliability`` (the answering workers' per-label
        estimates from the multi-label EM, one row per answer) each class's posterior."""
        chosen = np.array(
            [[label in set(a.get("labels", [])) for label in labels] for a in answers], dtype=bool
        ).reshape(len(answers), len(labels))
        kept, share, confidence = multilabel_vote(chosen, reliability=reliability)
        method = MULTILABEL_VOTE if reliability is None else MULTILABEL_EM
        return _consolidated(kept, share, confidence, labels, method)

    def consolidate_posterior(self, posterior: np.ndarray, labels: list[str]) -> Consolidated:
        """The label of an item whose per-class posteriors the job's EM computed."""
        kept, confidence = decide(np.asarray(posterior, dtype=np.float64))
        return _consolidated(kept, posterior, confidence, labels, MULTILABEL_EM)

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        """As the image multi-label type writes it (issue 16: without it every labeled line
        was left out of the manifest, so no chain could read a multi-label text job)."""
        return value["class_ids"], {
            "class-map": {str(k): labels[k] for k in value["class_ids"]},
            "confidence-map": value["confidence_map"],
        }

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return list(value["labels"])

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_multilabel_columns(value)


def _consolidated(kept, share, confidence, labels: list[str], method: str) -> Consolidated:
    class_ids = [int(i) for i in np.flatnonzero(kept)]
    value = {
        "labels": [labels[i] for i in class_ids],
        "class_ids": class_ids,
        "confidence_map": {str(i): round(float(share[i]), 6) for i in class_ids},
    }
    overall = float(np.min(confidence)) if len(labels) else 0.0
    return Consolidated(value=value, confidence=round(overall, 6), method=method)


TEXT_CLASSIFICATION_MULTILABEL = register_task_type(TextMultiLabelClassification())
