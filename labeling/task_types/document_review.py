"""Built-in review of a document's key-value pairs (the review service's Textract
AnalyzeDocument forms review), for review-loop flows.

An item is the page image and the analysis's blocks, in the human loop input's spelling
(camelCase): ``{"source-ref": "s3://…/page.png", "blocks": [...], "importantFormKeys":
[{"importantFormKey", "importantFormKeyAliases"}], "reviewThreshold": 0–100 | null,
"flaggedBlockIds": [...]}``. A reviewer corrects keys, values and their boxes, adds keys the
analysis missed and deletes wrong ones; the answer is the documented
``{"AWS/Textract/AnalyzeDocument/Forms/V1": {"blocks": [KEY_VALUE_SET blocks …]}}``.
Several reviewers' answers consolidate per key (``labeling.consolidation.key_values``).
"""

import re
from dataclasses import dataclass
from typing import Any

from labeling.consolidation.key_values import (
    KEY_VALUE_MAJORITY,
    ReviewedPair,
    agreement_reliability,
    consolidate_key_values,
    normalise,
)
from labeling.consolidation.matching import box_iou
from labeling.task_types.base import (
    AnswerProblem,
    Consolidated,
    ParsedAnswer,
    SourceProblem,
    csv_compact_json,
    register_task_type,
)

TEXTRACT_FORMS = "AWS/Textract/AnalyzeDocument/Forms/V1"
MAX_BLOCKS = 5_000
MAX_TEXT_CHARS = 2_000
BLOCK_TYPES = ("KEY_VALUE_SET", "WORD", "LINE", "SELECTION_ELEMENT")
_ID = re.compile(r"^[A-Za-z0-9_\-:.]{1,128}$")
RESERVED_FOR = "review-loop flows (POST /api/v1/flows with this task_type, or CreateFlowDefinition)"


def camel_keys(value: Any) -> Any:
    """``value`` with every object key's first letter in lower case (``BlockType`` →
    ``blockType``): the AI services answer in PascalCase, the review's input and output are
    camelCase."""
    if isinstance(value, dict):
        return {
            (k[:1].lower() + k[1:] if isinstance(k, str) else k): camel_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


@dataclass(frozen=True)
class Pair:
    """One detected key with its value, as the analysis's blocks say."""

    key_id: str
    key: str
    value_id: str
    value: str
    confidence: float | None  # the lower of the key's and the value's block confidence (0–100)
    word_confidence: float | None  # the lowest of their words' confidence (0–100)
    key_box: tuple[float, float, float, float] | None
    value_box: tuple[float, float, float, float] | None


def _box(block: dict[str, Any] | None) -> tuple[float, float, float, float] | None:
    box = ((block or {}).get("geometry") or {}).get("boundingBox")
    if not isinstance(box, dict):
        return None
    try:
        height = box.get("height", box.get("weight"))  # the managed element spells it "weight"
        return (float(box["left"]), float(box["top"]), float(box["width"]), float(height))
    except (KeyError, TypeError, ValueError):
        return None


def _children(block: dict[str, Any], by_id: dict[str, dict], kind: str) -> list[dict]:
    found = []
    for relation in block.get("relationships") or []:
        if isinstance(relation, dict) and relation.get("type") == kind:
            found.extend(by_id[i] for i in relation.get("ids") or [] if i in by_id)
    return found


def _text(block: dict[str, Any] | None, by_id: dict[str, dict]) -> tuple[str, list[float]]:
    if not block:
        return "", []
    words = _children(block, by_id, "CHILD")
    confidences = [float(w["confidence"]) for w in words if _number(w.get("confidence"))]
    if isinstance(block.get("text"), str):
        return block["text"], confidences
    return " ".join(str(w.get("text", "")) for w in words if w.get("text")), confidences


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def key_value_pairs(blocks: list[dict[str, Any]]) -> list[Pair]:
    """The key-value pairs that ``blocks`` (camelCase) hold, in the order of their keys."""
    by_id = {b["id"]: b for b in blocks if isinstance(b, dict) and isinstance(b.get("id"), str)}
    pairs = []
    for block in blocks:
        if not isinstance(block, dict) or block.get("blockType") != "KEY_VALUE_SET":
            continue
        if "KEY" not in (block.get("entityTypes") or []):
            continue
        values = _children(block, by_id, "VALUE")
        value = values[0] if values else None
        key_text, key_words = _text(block, by_id)
        value_text, value_words = _text(value, by_id)
        confidences = [
            float(b["confidence"]) for b in (block, value) if b and _number(b.get("confidence"))
        ]
        words = key_words + value_words
        pairs.append(
            Pair(
                key_id=str(block.get("id", "")),
                key=key_text,
                value_id=str((value or {}).get("id", "")),
                value=value_text,
                confidence=min(confidences) if confidences else None,
                word_confidence=min(words) if words else None,
                key_box=_box(block),
                value_box=_box(value),
            )
        )
    return pairs


def normalised_text(text: str) -> str:
    """A key or value as reviews compare them (case, whitespace, a trailing colon)."""
    return normalise(text)


def box_overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The IoU of two boxes (left, top, width, height)."""
    return float(box_iou(list(a), list(b))[0, 0])


def _check_block(block: Any, where: str) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise AnswerProblem(f"{where} must be an object")
    block = camel_keys(block)
    if block.get("blockType") not in BLOCK_TYPES:
        raise AnswerProblem(f"{where}.blockType must be one of {', '.join(BLOCK_TYPES)}")
    if not isinstance(block.get("id"), str) or not _ID.match(block["id"]):
        raise AnswerProblem(f"{where}.id must be 1 to 128 letters, digits, -, _, :, .")
    text = block.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
        raise AnswerProblem(f"{where}.text must be a text of at most {MAX_TEXT_CHARS} characters")
    if "geometry" in block:
        box = (
            (block["geometry"] or {}).get("boundingBox")
            if isinstance(block["geometry"], dict)
            else None
        )
        parts = _box(block) if box is not None else None
        if box is not None and (parts is None or not all(-0.01 <= v <= 1.01 for v in parts)):
            raise AnswerProblem(
                f"{where}.geometry.boundingBox must hold left, top, width, height from 0 to 1"
            )
    for relation in block.get("relationships") or []:
        ids = relation.get("ids") if isinstance(relation, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise AnswerProblem(f"{where}.relationships must be objects with a list of ids")
    return block


def forms_blocks(answer: Any) -> list[dict[str, Any]]:
    """The blocks of a key-value answer, checked; AnswerProblem names what is wrong."""
    if isinstance(answer, dict) and TEXTRACT_FORMS not in answer:
        nested = [v for v in answer.values() if isinstance(v, dict) and TEXTRACT_FORMS in v]
        answer = nested[0] if nested else answer
    content = answer.get(TEXTRACT_FORMS) if isinstance(answer, dict) else None
    blocks = content.get("blocks") if isinstance(content, dict) else None
    if not isinstance(blocks, list):
        raise AnswerProblem(f'the answer must be {{"{TEXTRACT_FORMS}": {{"blocks": [...]}}}}')
    if len(blocks) > MAX_BLOCKS:
        raise AnswerProblem(f"at most {MAX_BLOCKS} blocks")
    return [_check_block(block, f"blocks[{i}]") for i, block in enumerate(blocks)]


def pairs_blocks(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consolidated pairs as KEY_VALUE_SET blocks of the documented shape."""
    blocks = []
    for index, pair in enumerate(pairs, start=1):
        key = {
            "blockType": "KEY_VALUE_SET",
            "id": f"consolidated-key-{index}",
            "entityTypes": ["KEY"],
            "text": pair["key"],
            "confidence": round(pair["confidence"] * 100, 4),
            "relationships": [{"type": "VALUE", "ids": [f"consolidated-value-{index}"]}],
        }
        value = {
            "blockType": "KEY_VALUE_SET",
            "id": f"consolidated-value-{index}",
            "entityTypes": ["VALUE"],
            "text": pair["value"],
            "confidence": round(pair["confidence"] * 100, 4),
        }
        for block, box in ((key, pair["keyBox"]), (value, pair["valueBox"])):
            if box:
                left, top, width, height = box
                block["geometry"] = {
                    "boundingBox": {"left": left, "top": top, "width": width, "height": height}
                }
        blocks.extend([key, value])
    return blocks


RELIABILITY_ANSWERS = 1_000  # the job's latest answers a reliability estimate reads


def features_of_pairs(answer: dict[str, Any]) -> dict[str, str]:
    blocks = (answer.get(TEXTRACT_FORMS) or {}).get("blocks") or []
    return {normalise(p.key): normalise(p.value) for p in key_value_pairs(blocks) if p.key}


def answers_reliability(
    job_answers: list[tuple[int, int, dict]], worker_ids: list[int], features
) -> list[float]:
    """Each of ``worker_ids``' agreement reliability over the job's latest answers (1 for a
    worker with nothing to compare yet)."""
    by_item: dict[int, list[tuple[int, dict[str, str]]]] = {}
    for item_id, worker_id, answer in job_answers[:RELIABILITY_ANSWERS]:
        by_item.setdefault(item_id, []).append((worker_id, features(answer)))
    estimates = agreement_reliability(list(by_item.values()))
    return [estimates.get(worker, 1.0) for worker in worker_ids]


@dataclass(frozen=True)
class DocumentKeyValueReview:
    key: str = "document-key-value-review"
    title: str = "Document key-value review (Textract AnalyzeDocument forms)"
    media: str = "image"
    manifest_type: str = "groundtruth/document-key-value-review"
    template_name: str = "tasks/document_key_value_review.html"
    consolidation: str = KEY_VALUE_MAJORITY
    export_formats: tuple[str, ...] = ()
    # The item line is built from the loop's input by the flow (workflows), not by a key.
    line_is_input: bool = True

    def check_source(self, line: dict[str, Any]) -> None:
        if not isinstance(line.get("source-ref"), str) or not line["source-ref"]:
            raise SourceProblem(
                "a document review needs the page image: aiServiceRequest.document.s3Object "
                "(bucket and name) or source-ref"
            )
        if not isinstance(line.get("blocks"), list):
            raise SourceProblem("a document review needs the analysis's blocks")

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        blocks = forms_blocks(answer)
        return ParsedAnswer(answer={TEXTRACT_FORMS: {"blocks": blocks}})

    def answer_weights(
        self, job_answers: list[tuple[int, int, dict]], worker_ids: list[int], labels: list[str]
    ) -> list[float]:
        """Each of ``worker_ids``' reliability: agreement with the majority on the job's
        latest ``RELIABILITY_ANSWERS`` answers (ties of the consolidation follow it)."""
        return answers_reliability(
            job_answers, worker_ids, lambda answer: features_of_pairs(answer)
        )

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
        reliability: list[float] | None = None,
    ) -> Consolidated:
        reviewed = [
            [
                ReviewedPair(p.key, p.value, p.key_box, p.value_box)
                for p in key_value_pairs(answer[TEXTRACT_FORMS]["blocks"])
            ]
            for answer in answers
        ]
        pairs, confidence = consolidate_key_values(reviewed, reliability)
        listed = [
            {
                "key": p.key,
                "value": p.value,
                "keyBox": list(p.key_box) if p.key_box else None,
                "valueBox": list(p.value_box) if p.value_box else None,
                "confidence": p.confidence,
                "votes": p.votes,
            }
            for p in pairs
        ]
        return Consolidated(
            value={"pairs": listed, "blocks": pairs_blocks(listed)},
            confidence=confidence,
            method=KEY_VALUE_MAJORITY,
        )

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        return {p["key"]: p["value"] for p in value["pairs"]}, {
            "confidence-map": {p["key"]: p["confidence"] for p in value["pairs"]},
            "pairs": value["pairs"],
        }

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        return csv_compact_json({p["key"]: p["value"] for p in value["pairs"]}, sort_keys=True), ""

    def template_context(self, line: dict[str, Any]) -> dict[str, Any]:
        return {"pairs": len(key_value_pairs(line.get("blocks") or []))}


DOCUMENT_KEY_VALUE_REVIEW = register_task_type(DocumentKeyValueReview(), reserved_for=RESERVED_FOR)
