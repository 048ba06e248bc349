"""Activation conditions and sampling: which predictions go to people. Pure Python, no ORM.

A condition tree is JSON: a leaf, or ``{"any": [...]}`` / ``{"all": [...]}`` of leaves and
(one level further down) of combinations of leaves. The leaves:

- ``{"confidence_below": 0.8}``: the prediction's confidence is under 0.8;
- ``{"label_confidence_below": {"spam": 0.95, "ham": 0.6}}``: under the threshold of its label
  (a label not named never matches);
- ``{"label_in": ["spam", "phishing"]}``: the predicted label is one of these;
- the built-in reviews' leaves on the AI service's answer (``form_key_confidence``,
  ``form_key_missing``, ``moderation_label_confidence``): see workflows/inference.py.

Sampling sends a share of predictions to people whatever the conditions say; the draw is a
hash of the input content in canonical form, so a retried prediction is drawn the same way.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from workflows import inference as builtin

MAX_DEPTH = 2
MAX_CHILDREN = 20
COMBINATORS = ("any", "all")
LEAVES = ("confidence_below", "label_confidence_below", "label_in", *builtin.LEAVES)
_SAMPLE_SPACE = 1 << 64


class ConditionProblem(ValueError):
    """A condition tree that does not fit the grammar; the message says where."""


@dataclass(frozen=True)
class Verdict:
    review: bool
    by_condition: bool
    by_sample: bool

    @property
    def reason(self) -> str:
        return "+".join(
            name
            for name, hit in (("condition", self.by_condition), ("sample", self.by_sample))
            if hit
        )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConditionProblem(f"{where}: a number from 0 to 1, not {value!r}")
    return float(value)


def _check(node: Any, depth: int, where: str) -> None:
    if not isinstance(node, dict) or len(node) != 1:
        raise ConditionProblem(f"{where}: an object with exactly one key")
    key, value = next(iter(node.items()))
    if key in COMBINATORS:
        if depth >= MAX_DEPTH:
            raise ConditionProblem(f"{where}: any/all nest at most {MAX_DEPTH} levels")
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_CHILDREN:
            raise ConditionProblem(f"{where}.{key}: a list of 1 to {MAX_CHILDREN} conditions")
        for index, child in enumerate(value):
            _check(child, depth + 1, f"{where}.{key}[{index}]")
    elif key == "confidence_below":
        _number(value, f"{where}.{key}")
    elif key == "label_confidence_below":
        if not isinstance(value, dict) or not value:
            raise ConditionProblem(f"{where}.{key}: an object of label → threshold")
        for label, threshold in value.items():
            _number(threshold, f"{where}.{key}.{label}")
    elif key == "label_in":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ConditionProblem(f"{where}.{key}: a non-empty list of labels")
    elif key in builtin.LEAVES:
        try:
            builtin.check_leaf(key, value, where)
        except builtin.LeafProblem as exc:
            raise ConditionProblem(str(exc)) from None
    else:
        known = ", ".join(COMBINATORS + LEAVES)
        raise ConditionProblem(f"{where}: unknown condition {key!r}; known: {known}")


def validate_conditions(tree: Any) -> dict[str, Any]:
    """The tree if it fits the grammar (``{}`` means no condition); else ConditionProblem."""
    if tree in (None, {}):
        return {}
    _check(tree, 0, "conditions")
    return tree


def matches(
    tree: dict[str, Any],
    *,
    label: str,
    confidence: float | None,
    inference: builtin.Inference | None = None,
) -> bool:
    """Whether a prediction meets a validated tree. A missing confidence counts as 0; the
    built-in reviews' leaves read ``inference`` (the AI service's answer)."""
    if not tree:
        return False
    key, value = next(iter(tree.items()))
    score = 0.0 if confidence is None else confidence
    if key == "any":
        return any(
            matches(child, label=label, confidence=confidence, inference=inference)
            for child in value
        )
    if key == "all":
        return all(
            matches(child, label=label, confidence=confidence, inference=inference)
            for child in value
        )
    if key in builtin.LEAVES:
        return builtin.leaf_matches(key, value, inference)
    if key == "confidence_below":
        return score < value
    if key == "label_confidence_below":
        return label in value and score < value[label]
    return label in value  # label_in


def canonical_content(content: Any) -> bytes:
    """The input content in one spelling: keys sorted, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sampled(content: Any, percent: float | None, *, salt: str = "") -> bool:
    """Whether ``content`` falls in the ``percent`` sample; the same content always draws alike."""
    if not percent:
        return False
    digest = hashlib.sha256(salt.encode() + b"\0" + canonical_content(content)).digest()
    draw = int.from_bytes(digest[:8], "big") / _SAMPLE_SPACE * 100
    return draw < percent


def decide(
    tree: dict[str, Any],
    percent: float | None,
    *,
    content: Any,
    label: str,
    confidence: float | None,
    salt: str = "",
) -> Verdict:
    by_condition = matches(tree, label=label, confidence=confidence)
    by_sample = sampled(content, percent, salt=salt)
    return Verdict(by_condition or by_sample, by_condition, by_sample)
