"""Multi-label image classification, and verification of an earlier job's labels.

Multi-label answers are what ``<crowd-image-classifier-multi-select>`` submits:
``{"<name>": {"labels": ["cat", "dog"]}}``. Verification answers are a
``<crowd-image-classifier>`` choice among the job's labels (for example "Correct",
"Incorrect") plus an optional free-text ``feedback`` field: ``{"verification":
{"label": "Incorrect"}, "feedback": "the box misses the tail"}``.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from labeling.consolidation.majority import MajorityVote
from labeling.consolidation.multilabel import MULTILABEL_EM, consolidate_multilabel
from labeling.consolidation.multilabel_em import LabelReliability
from labeling.task_types import answer_fields as f
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_multilabel_columns,
    register_task_type,
)
from labeling.task_types.classification import _check_image_ref
from labeling.task_types.image_boxes import prior_boxes

MAX_FEEDBACK_CHARS = 2_000


def _class_map(labels: list[str]) -> dict[str, str]:
    return {str(index): name for index, name in enumerate(labels)}


@dataclass(frozen=True)
class MultiLabelImageClassification:
    key: str = "image-classification-multilabel"
    title: str = "Image classification (multi-label)"
    media: str = "image"
    manifest_type: str = "groundtruth/image-classification-multilabel"
    template_name: str = "tasks/image_classification_multilabel.html"
    consolidation: str = "per-class-vote"
    export_formats: tuple[str, ...] = ()
    votes_by_class: bool = True  # issue 5: consolidate_answers takes workers' reliability

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        name, inner = f.unwrap(answer, "labels")
        name = name or "categories"
        chosen = f.items(f.require(inner, "labels", name), f"{name}.labels", limit=len(labels))
        picked = [f.label(value, labels, f"{name}.labels[{i}]") for i, value in enumerate(chosen)]
        if len(set(picked)) != len(picked):
            raise AnswerProblem(f"{name}.labels names a label twice")
        ordered = [label for label in labels if label in picked]
        return ParsedAnswer(answer={name: {"labels": ordered}})

    def chosen_labels(self, answer: dict[str, Any]) -> list[str]:
        """The labels a stored answer picked."""
        return list(next(iter(answer.values()))["labels"])

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        reliability: LabelReliability | None = None,
    ) -> Consolidated:
        """Per-class vote; with ``reliability`` (the answering workers' per-label estimates
        from the multi-label EM, one row per answer) each class's posterior decides."""
        index = {name: i for i, name in enumerate(labels)}
        chosen = np.zeros((len(answers), len(labels)), dtype=bool)
        for row, answer in enumerate(answers):
            for name in self.chosen_labels(answer):
                chosen[row, index[name]] = True
        kept, shares = consolidate_multilabel(chosen, reliability=reliability)
        method = self.consolidation if reliability is None else MULTILABEL_EM
        return self._consolidated(kept, shares, labels, method)

    def consolidate_posterior(self, posterior: np.ndarray, labels: list[str]) -> Consolidated:
        """The label of an item whose per-class posteriors the job's EM computed."""
        posterior = np.asarray(posterior, dtype=np.float64)
        kept = np.flatnonzero(posterior >= 0.5 - 1e-9)
        return self._consolidated(kept, posterior, labels, MULTILABEL_EM)

    def _consolidated(self, kept, shares, labels: list[str], method: str) -> Consolidated:
        confidences = {str(int(k)): round(float(shares[k]), 4) for k in kept}
        confidence = float(shares[kept].mean()) if len(kept) else 1.0 - float(shares.max(initial=0))
        return Consolidated(
            value={
                "labels": [labels[int(k)] for k in kept],
                "class_ids": [int(k) for k in kept],
                "confidence_map": confidences,
            },
            confidence=round(confidence, 6),
            method=method,
            label=",".join(labels[int(k)] for k in kept),
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return value["class_ids"], {
            "class-map": {str(k): labels[k] for k in value["class_ids"]},
            "confidence-map": value["confidence_map"],
        }

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        return list(value["labels"])

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_multilabel_columns(value)


def prior_label(line: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """What an earlier job said about ``line``: its class name, or its boxes."""
    boxes, attribute = prior_boxes(line)
    if attribute:
        return "", boxes
    for key, metadata in line.items():
        if key.endswith("-metadata") and isinstance(metadata, dict):
            name = metadata.get("class-name")
            if isinstance(name, str) and name:
                return name, []
    return "", []


@dataclass(frozen=True)
class LabelVerification:
    """A worker approves or rejects an earlier job's label (a class or boxes), with feedback."""

    key: str = "image-label-verification"
    title: str = "Image: verify earlier labels"
    media: str = "image"
    manifest_type: str = "groundtruth/label-verification"
    template_name: str = "tasks/image_label_verification.html"
    consolidation: str = "majority"
    export_formats: tuple[str, ...] = ()
    answer_is_one_class: bool = True

    def check_source(self, line: dict[str, Any]) -> None:
        _check_image_ref(line)
        name, boxes = prior_label(line)
        if not name and not boxes:
            raise SourceProblem(
                "a verification item needs an earlier job's label: a label attribute whose "
                '"-metadata" has "class-name", or object-detection boxes'
            )

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        if not isinstance(answer, dict):
            raise AnswerProblem('the answer must be {"verification": {"label": ...}}')
        feedback = answer.get("feedback", "")
        if not isinstance(feedback, str):
            raise AnswerProblem("feedback must be text")
        if len(feedback) > MAX_FEEDBACK_CHARS:
            raise AnswerProblem(f"feedback is over {MAX_FEEDBACK_CHARS} characters")
        choices = {k: v for k, v in answer.items() if k != "feedback"}
        name, inner = f.unwrap(choices, "label")
        name = name or "verification"
        chosen = f.label(f.require(inner, "label", name), labels, f"{name}.label")
        return ParsedAnswer(
            answer={name: {"label": chosen}, "feedback": feedback.strip()}, label=chosen
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> Consolidated:
        index = {name: i for i, name in enumerate(labels)}
        chosen = [next(v for k, v in a.items() if k != "feedback")["label"] for a in answers]
        votes = np.array([[index[name] for name in chosen]], dtype=np.int64)
        winners, confidences = MajorityVote().consolidate(votes, len(labels))
        winner = int(winners[0])
        feedback = [a["feedback"] for a in answers if a.get("feedback")]
        return Consolidated(
            value={"label": labels[winner], "class_id": winner, "feedback": feedback},
            confidence=round(float(confidences[0]), 6),
            method="majority",
            label=labels[winner],
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return value["class_id"], {
            "class-name": value["label"],
            "worker-feedback": [{"comment": text} for text in value["feedback"]],
        }

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        name, boxes = prior_label(line)
        return {"prior_label": name, "prior_boxes": boxes}


IMAGE_CLASSIFICATION_MULTILABEL = register_task_type(MultiLabelImageClassification())
IMAGE_LABEL_VERIFICATION = register_task_type(LabelVerification())
