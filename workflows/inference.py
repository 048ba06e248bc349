"""The built-in reviews' activation conditions, evaluated on the AI service's answer that a
StartHumanLoop carries. Pure Python, no ORM.

A flow of a built-in review type (``document-key-value-review``: Textract AnalyzeDocument
forms; ``image-moderation-review``: Rekognition DetectModerationLabels) receives as input
content the documented human loop input, ``{"aiServiceRequest": {...}, "aiServiceResponse":
{...}}`` (camelCase; PascalCase keys as boto3 returns them are taken too). Its condition tree
(workflows/conditions.py) may hold these leaves, confidences from 0 to 1:

- ``{"form_key_confidence": {"key": "Total", "aliases": ["Amount"], "key_value": RANGE,
  "word": RANGE}}``: the key (or an alias; ``"*"``: any key) was detected and its key-value
  block confidence (the lower of the key's and the value's) is in ``key_value``'s range and
  its words' lowest confidence in ``word``'s (each one given must hold);
- ``{"form_key_missing": {"key": "Total", "aliases": [...]}}``: neither the key nor an alias
  was detected;
- ``{"moderation_label_confidence": {"label": "Violence", **RANGE}}``: a detected label of
  that name (``"*"``: any) has its confidence in the range.

A RANGE is an object of ``below``, ``at_most``, ``above``, ``at_least``, ``equals`` (all given
must hold). Keys and labels are compared case-insensitively, whitespace collapsed, a trailing
colon ignored.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labeling.task_types.document_review import (
    TEXTRACT_FORMS,
    Pair,
    camel_keys,
    key_value_pairs,
)
from labeling.task_types.document_review import normalised_text as normalise
from labeling.task_types.moderation_review import REKOGNITION_MODERATION

FORM_LEAVES = ("form_key_confidence", "form_key_missing")
MODERATION_LEAVES = ("moderation_label_confidence",)
LEAVES = FORM_LEAVES + MODERATION_LEAVES
RANGE_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "below": lambda value, bound: value < bound,
    "at_most": lambda value, bound: value <= bound,
    "above": lambda value, bound: value > bound,
    "at_least": lambda value, bound: value >= bound,
    "equals": lambda value, bound: abs(value - bound) < 1e-9,
}
# The task type of each managed request source, and back.
SOURCE_TASK_TYPES = {
    TEXTRACT_FORMS: "document-key-value-review",
    REKOGNITION_MODERATION: "image-moderation-review",
}
TASK_TYPE_SOURCES = {task_type: source for source, task_type in SOURCE_TASK_TYPES.items()}
MAX_ALIASES = 20


class LeafProblem(ValueError):
    """A built-in review leaf that does not fit the grammar; the message says where."""


class InputProblem(ValueError):
    """A loop input that is not the AI service's answer this flow reviews."""


@dataclass(frozen=True)
class Inference:
    """What a condition looks at in one loop input."""

    source: str
    image_ref: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)  # name, parentName, confidence


def _bound(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise LeafProblem(f"{where}: a number from 0 to 1, not {value!r}")
    return float(value)


def _check_range(value: Any, where: str, *, extra: tuple[str, ...] = ()) -> None:
    if not isinstance(value, dict):
        raise LeafProblem(f"{where}: an object of {', '.join(RANGE_OPERATORS)}")
    bounds = [name for name in value if name not in extra]
    if not bounds:
        raise LeafProblem(f"{where}: at least one of {', '.join(RANGE_OPERATORS)}")
    for name in bounds:
        if name not in RANGE_OPERATORS:
            raise LeafProblem(
                f"{where}: unknown bound {name!r}; known: {', '.join(RANGE_OPERATORS)}"
            )
        _bound(value[name], f"{where}.{name}")


def _check_key(value: dict[str, Any], where: str) -> None:
    key = value.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise LeafProblem(f"{where}.key: the important key's text (or * for any key)")
    aliases = value.get("aliases", [])
    if (
        not isinstance(aliases, list)
        or len(aliases) > MAX_ALIASES
        or not all(isinstance(a, str) and a.strip() for a in aliases)
    ):
        raise LeafProblem(f"{where}.aliases: a list of at most {MAX_ALIASES} texts")


def check_leaf(key: str, value: Any, where: str) -> None:
    """Raise LeafProblem when a built-in review leaf ``{key: value}`` is malformed."""
    where = f"{where}.{key}"
    if not isinstance(value, dict):
        raise LeafProblem(f"{where}: an object")
    if key == "form_key_confidence":
        _check_key(value, where)
        unknown = set(value) - {"key", "aliases", "key_value", "word"}
        if unknown:
            raise LeafProblem(f"{where}: unknown field {sorted(unknown)[0]!r}")
        if "key_value" not in value and "word" not in value:
            raise LeafProblem(f"{where}: a key_value or word confidence range")
        for name in ("key_value", "word"):
            if name in value:
                _check_range(value[name], f"{where}.{name}")
    elif key == "form_key_missing":
        _check_key(value, where)
        if value["key"] == "*":
            raise LeafProblem(f"{where}.key: a missing key must be named (not *)")
    elif key == "moderation_label_confidence":
        label = value.get("label")
        if not isinstance(label, str) or not label.strip():
            raise LeafProblem(f"{where}.label: the label's name (or * for any label)")
        _check_range(value, where, extra=("label",))


def leaf_source(key: str) -> str:
    """The managed request source whose answers a leaf reads."""
    return TEXTRACT_FORMS if key in FORM_LEAVES else REKOGNITION_MODERATION


def _in_range(score: float | None, bounds: dict[str, Any]) -> bool:
    if score is None:
        return False
    return all(
        RANGE_OPERATORS[name](score, float(bound))
        for name, bound in bounds.items()
        if name in RANGE_OPERATORS
    )


def _names(value: dict[str, Any]) -> set[str]:
    return {normalise(name) for name in [value["key"], *value.get("aliases", [])]}


def matching_pairs(value: dict[str, Any], inference: Inference) -> list[Pair]:
    """The detected pairs a ``form_key_confidence`` leaf holds true of."""
    names = _names(value)
    found = []
    for pair in inference.pairs:
        if value["key"] != "*" and normalise(pair.key) not in names:
            continue
        scores = {
            "key_value": None if pair.confidence is None else pair.confidence / 100,
            "word": None if pair.word_confidence is None else pair.word_confidence / 100,
        }
        if all(
            _in_range(scores[name], value[name]) for name in ("key_value", "word") if name in value
        ):
            found.append(pair)
    return found


def matching_labels(value: dict[str, Any], inference: Inference) -> list[dict[str, Any]]:
    """The detected moderation labels a ``moderation_label_confidence`` leaf holds true of."""
    wanted = normalise(value["label"])
    found = []
    for label in inference.labels:
        if value["label"] != "*" and normalise(label.get("name", "")) != wanted:
            continue
        confidence = label.get("confidence")
        score = confidence / 100 if isinstance(confidence, int | float) else None
        if _in_range(score, value):
            found.append(label)
    return found


def leaf_matches(key: str, value: dict[str, Any], inference: Inference | None) -> bool:
    """Whether a built-in review leaf holds for ``inference`` (False without one, or when it
    reads another service's answer)."""
    if inference is None or inference.source != leaf_source(key):
        return False
    if key == "form_key_confidence":
        return bool(matching_pairs(value, inference))
    if key == "form_key_missing":
        names = _names(value)
        return not any(normalise(pair.key) in names for pair in inference.pairs)
    return bool(matching_labels(value, inference))


def _s3_ref(location: Any) -> str:
    s3 = location.get("s3Object") if isinstance(location, dict) else None
    if (
        isinstance(s3, dict)
        and isinstance(s3.get("bucket"), str)
        and isinstance(s3.get("name"), str)
    ):
        return f"s3://{s3['bucket']}/{s3['name']}"
    return ""


def loop_inference(source: str, content: Any) -> Inference:
    """The AI service's answer in a loop's input content; InputProblem when it is not there."""
    if not isinstance(content, dict):
        raise InputProblem("the input content must be a JSON object (the human loop input)")
    content = camel_keys(content)
    request = content.get("aiServiceRequest")
    request = request if isinstance(request, dict) else {}
    response = content.get("aiServiceResponse")
    if not isinstance(response, dict):
        response = content  # the service's answer given alone
    ref = content.get("source-ref") or content.get("sourceRef") or ""
    if source == TEXTRACT_FORMS:
        ref = ref or _s3_ref(request.get("document"))
        blocks = response.get("blocks")
        if not isinstance(blocks, list):
            raise InputProblem(
                "the input content has no aiServiceResponse.blocks (AnalyzeDocument's answer)"
            )
        blocks = [b for b in blocks if isinstance(b, dict)]
        return Inference(source, str(ref), blocks=blocks, pairs=key_value_pairs(blocks))
    ref = ref or _s3_ref(request.get("image"))
    labels = response.get("moderationLabels")
    if not isinstance(labels, list):
        raise InputProblem(
            "the input content has no aiServiceResponse.moderationLabels "
            "(DetectModerationLabels' answer)"
        )
    return Inference(source, str(ref), labels=[x for x in labels if isinstance(x, dict)])


@dataclass(frozen=True)
class Activation:
    """A condition tree evaluated on one input: whether it activates a loop, the tree with a
    result on every node (the loop's ``humanTaskActivationConditionResults``), and what made
    the leaves true (block ids of form keys, names of moderation labels)."""

    activated: bool
    results: dict[str, Any]
    flagged_block_ids: list[str]
    flagged_labels: list[str]


def _walk(node: dict[str, Any], inference: Inference, ids: list[str], names: list[str]) -> dict:
    key, value = next(iter(node.items()))
    if key in ("any", "all"):
        children = [_walk(child, inference, ids, names) for child in value]
        hits = [child["result"] for child in children]
        return {key: children, "result": any(hits) if key == "any" else all(hits)}
    if key not in LEAVES:
        return {key: value, "result": False}
    result = leaf_matches(key, value, inference)
    if result and key == "form_key_confidence":
        for pair in matching_pairs(value, inference):
            ids.extend(i for i in (pair.key_id, pair.value_id) if i and i not in ids)
    elif result and key == "moderation_label_confidence":
        for label in matching_labels(value, inference):
            if label.get("name") not in names:
                names.append(label.get("name"))
    return {key: value, "result": result}


def activation(tree: dict[str, Any], inference: Inference) -> Activation:
    """Evaluate a validated condition tree (``{}``: no condition, nothing activates)."""
    ids: list[str] = []
    names: list[str] = []
    if not tree:
        return Activation(False, {}, ids, names)
    results = _walk(tree, inference, ids, names)
    return Activation(bool(results["result"]), results, ids, names)


def _leaves(node: Any) -> list[tuple[str, Any]]:
    if not isinstance(node, dict) or not node:
        return []
    key, value = next(iter(node.items()))
    if key in ("any", "all"):
        return [leaf for child in value for leaf in _leaves(child)]
    return [(key, value)]


def important_form_keys(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys a flow's form leaves name, as the review element takes them."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in _leaves(tree):
        if key in FORM_LEAVES and value["key"] != "*":
            entry = found.setdefault(
                normalise(value["key"]),
                {"importantFormKey": value["key"], "importantFormKeyAliases": []},
            )
            for alias in value.get("aliases", []):
                if alias not in entry["importantFormKeyAliases"]:
                    entry["importantFormKeyAliases"].append(alias)
    return list(found.values())


def review_threshold(tree: dict[str, Any]) -> float | None:
    """The highest "below" / "at most" key-value confidence the flow sends to review (0–100),
    under which the review UI highlights a pair; None when no leaf sets one."""
    bounds = [
        float(value["key_value"][name]) * 100
        for key, value in _leaves(tree)
        if key == "form_key_confidence" and "key_value" in value
        for name in ("below", "at_most")
        if name in value["key_value"]
    ]
    return max(bounds) if bounds else None


def tree_sources(tree: dict[str, Any]) -> set[str]:
    """The managed request sources whose answers the tree's built-in leaves read; "" for the
    prediction leaves (label and confidence)."""
    return {leaf_source(key) if key in LEAVES else "" for key, _ in _leaves(tree)}


def _referenced(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The key-value blocks and the words they hold (what the review shows)."""
    by_id = {b.get("id"): b for b in blocks}
    keep = [b for b in blocks if b.get("blockType") == "KEY_VALUE_SET"]
    words = []
    for block in keep:
        for relation in block.get("relationships") or []:
            if isinstance(relation, dict) and relation.get("type") == "CHILD":
                words.extend(by_id[i] for i in relation.get("ids") or [] if i in by_id)
    seen = {id(block) for block in keep}
    for word in words:
        if id(word) not in seen:
            seen.add(id(word))
            keep.append(word)
    return keep


def review_line(tree: dict[str, Any], inference: Inference, found: Activation) -> dict[str, Any]:
    """The item line of a built-in review loop: the image and what the reviewer checks."""
    if inference.source == TEXTRACT_FORMS:
        return {
            "source-ref": inference.image_ref,
            "blocks": _referenced(inference.blocks),
            "importantFormKeys": important_form_keys(tree),
            "reviewThreshold": review_threshold(tree),
            "flaggedBlockIds": found.flagged_block_ids,
        }
    return {
        "source-ref": inference.image_ref,
        "moderationLabels": [
            {
                "name": str(label.get("name", "")),
                "parentName": str(label.get("parentName", "") or ""),
                "confidence": label.get("confidence"),
            }
            for label in inference.labels
        ],
        "flaggedLabels": found.flagged_labels,
    }


def consolidated_answer(source: str, value: dict[str, Any]) -> dict[str, Any]:
    """A built-in review's consolidated value in the documented answer shape, with the
    confidence of each key (label) beside it."""
    if source == TEXTRACT_FORMS:
        return {"answerContent": {source: {"blocks": value["blocks"]}}, "pairs": value["pairs"]}
    return {
        "answerContent": {source: {"moderationLabels": value["moderationLabels"]}},
        "labels": value["labels"],
    }
