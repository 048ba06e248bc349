"""Built-in review of an image's moderation labels (the review service's Rekognition
DetectModerationLabels review), for review-loop flows.

An item is the image and the detected labels, in the human loop input's spelling:
``{"source-ref": "s3://…/image.jpg", "moderationLabels": [{"name", "parentName",
"confidence"}], "flaggedLabels": [...]}``; the job's labels are the moderation taxonomy a
reviewer may add from. A reviewer confirms, unchecks or adds labels; the answer is the
documented ``{"AWS/Rekognition/DetectModerationLabels/Image/V3": {"moderationLabels":
[{"name", "parentName"}]}}`` (the element's ``ModerationLabels`` spelling is taken too).
Several reviewers' answers consolidate per label by majority, the confidence being the share.
"""

from dataclasses import dataclass
from typing import Any

from labeling.consolidation.key_values import MODERATION_MAJORITY, consolidate_moderation
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_compact_json,
    register_task_type,
)
from labeling.task_types.document_review import RESERVED_FOR, answers_reliability

REKOGNITION_MODERATION = "AWS/Rekognition/DetectModerationLabels/Image/V3"
MAX_LABELS = 200
MAX_NAME_CHARS = 200
# The moderation taxonomy's top-level categories (Rekognition's moderation model 7), the
# default labels of a moderation review flow.
DEFAULT_TAXONOMY = (
    "Explicit",
    "Non-Explicit Nudity of Intimate parts and Kissing",
    "Swimwear or Underwear",
    "Violence",
    "Visually Disturbing",
    "Drugs & Tobacco",
    "Alcohol",
    "Rude Gestures",
    "Gambling",
    "Hate Symbols",
)


def _label(item: Any, where: str) -> dict[str, str]:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        raise AnswerProblem(f"{where} must be a label name or {{name, parentName}}")
    name = item.get("name", item.get("Name"))
    parent = item.get("parentName", item.get("ParentName", "")) or ""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise AnswerProblem(f"{where}.name must be a text of 1 to {MAX_NAME_CHARS} characters")
    if not isinstance(parent, str) or len(parent) > MAX_NAME_CHARS:
        raise AnswerProblem(f"{where}.parentName must be a text")
    return {"name": name.strip(), "parentName": parent.strip()}


def moderation_labels(answer: Any) -> list[dict[str, str]]:
    """The chosen labels of a moderation answer, checked; AnswerProblem names what is wrong."""
    if isinstance(answer, dict) and REKOGNITION_MODERATION not in answer:
        nested = [v for v in answer.values() if isinstance(v, dict) and REKOGNITION_MODERATION in v]
        answer = nested[0] if nested else answer
    content = answer.get(REKOGNITION_MODERATION) if isinstance(answer, dict) else None
    if isinstance(content, dict):
        labels = content.get("moderationLabels", content.get("ModerationLabels"))
    else:
        labels = None
    if not isinstance(labels, list):
        raise AnswerProblem(
            f'the answer must be {{"{REKOGNITION_MODERATION}": {{"moderationLabels": [...]}}}}'
        )
    if len(labels) > MAX_LABELS:
        raise AnswerProblem(f"at most {MAX_LABELS} labels")
    chosen: dict[str, dict[str, str]] = {}
    for index, item in enumerate(labels):
        label = _label(item, f"moderationLabels[{index}]")
        chosen.setdefault(label["name"].casefold(), label)
    return list(chosen.values())


def _features(answer: dict[str, Any]) -> dict[str, str]:
    chosen = (answer.get(REKOGNITION_MODERATION) or {}).get("moderationLabels") or []
    return {str(x.get("name", "")).casefold(): "chosen" for x in chosen if isinstance(x, dict)}


@dataclass(frozen=True)
class ImageModerationReview:
    key: str = "image-moderation-review"
    title: str = "Image moderation review (Rekognition DetectModerationLabels)"
    media: str = "image"
    manifest_type: str = "groundtruth/image-moderation-review"
    template_name: str = "tasks/image_moderation_review.html"
    consolidation: str = MODERATION_MAJORITY
    export_formats: tuple[str, ...] = ()
    line_is_input: bool = True

    def check_source(self, line: dict[str, Any]) -> None:
        if not isinstance(line.get("source-ref"), str) or not line["source-ref"]:
            raise SourceProblem(
                "a moderation review needs the image: aiServiceRequest.image.s3Object "
                "(bucket and name) or source-ref"
            )
        if not isinstance(line.get("moderationLabels"), list):
            raise SourceProblem("a moderation review needs the detected moderationLabels")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        return ParsedAnswer(
            answer={REKOGNITION_MODERATION: {"moderationLabels": moderation_labels(answer)}}
        )

    def answer_weights(
        self, job_answers: list[tuple[int, int, dict]], worker_ids: list[int], labels: list[str]
    ) -> list[float]:
        """Each of ``worker_ids``' reliability: agreement with the per-label majority on the
        job's latest answers (ties of the consolidation follow it)."""
        return answers_reliability(job_answers, worker_ids, _features)

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        reliability: list[float] | None = None,
    ) -> Consolidated:
        chosen = [
            [
                (x["name"], x.get("parentName", ""))
                for x in a[REKOGNITION_MODERATION]["moderationLabels"]
            ]
            for a in answers
        ]
        result, confidence = consolidate_moderation(chosen, reliability)
        return Consolidated(
            value={
                "moderationLabels": [
                    {"name": x.name, "parentName": x.parent_name} for x in result if x.chosen
                ],
                "labels": [
                    {
                        "name": x.name,
                        "parentName": x.parent_name,
                        "chosen": x.chosen,
                        "share": x.share,
                        "confidence": x.confidence,
                    }
                    for x in result
                ],
            },
            confidence=confidence,
            method=MODERATION_MAJORITY,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return [x["name"] for x in value["moderationLabels"]], {
            "confidence-map": {x["name"]: x["confidence"] for x in value["labels"]}
        }

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_compact_json([x["name"] for x in value["moderationLabels"]]), ""

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        """The categories the reviewer sees: the detected labels (checked, with their
        confidence) first, then the rest of the taxonomy."""
        detected = [x for x in line.get("moderationLabels") or [] if isinstance(x, dict)]
        return {"detected": [x.get("name", "") for x in detected]}


IMAGE_MODERATION_REVIEW = register_task_type(ImageModerationReview(), reserved_for=RESERVED_FOR)
