"""What a human loop's start is given, checked: its input content (JSON, within the managed
runtime's limit), its content classifiers, and the model's prediction in it (label,
confidence, model name and version). Pure reads of the request; ``loops.py`` starts the loop."""

import json
from collections.abc import Sequence
from typing import Any

from labeling.errors import ValidationFailed
from labeling.models import TeamKind
from workflows.models import Flow

MAX_INPUT_CONTENT_CHARS = 3 * 1024 * 1024  # the managed runtime's InputContent limit
FREE_OF_PII = "FreeOfPersonallyIdentifiableInformation"
FREE_OF_ADULT_CONTENT = "FreeOfAdultContent"
CONTENT_CLASSIFIERS = (FREE_OF_PII, FREE_OF_ADULT_CONTENT)
MAX_CONTENT_CLASSIFIERS = 256  # the service model's list limit


def check_content_classifiers(*, flow: Flow, classifiers: Sequence[str] | None) -> list[str]:
    """The loop's content classifiers, refused if unknown, or if the flow's workforce is not
    private and they do not state the content free of personal data and adult content."""
    given = list(classifiers or [])
    if len(given) > MAX_CONTENT_CLASSIFIERS or not all(isinstance(c, str) for c in given):
        raise ValidationFailed(
            "DataAttributes.ContentClassifiers must be a list of at most "
            f"{MAX_CONTENT_CLASSIFIERS} names",
            details={"field": "ContentClassifiers"},
        )
    unknown = [name for name in given if name not in CONTENT_CLASSIFIERS]
    if unknown:
        raise ValidationFailed(
            f"DataAttributes.ContentClassifiers: {unknown[0]!r} is not one of "
            f"{', '.join(CONTENT_CLASSIFIERS)}",
            details={"field": "ContentClassifiers"},
        )
    kind = flow.team.kind
    missing = [name for name in CONTENT_CLASSIFIERS if name not in given]
    if kind != TeamKind.PRIVATE and missing:
        raise ValidationFailed(
            f"flow {flow.name} is worked on by a {kind} workforce, not a private one: "
            f"DataAttributes.ContentClassifiers must include {' and '.join(missing)}",
            details={"field": "ContentClassifiers", "missing": missing, "team_kind": kind},
        )
    return [name for name in CONTENT_CLASSIFIERS if name in given]


def check_model_label(*, labels: Sequence[str], label: str, where: str) -> None:
    """Refuse a model label that is not one of the flow's labels: reviewers would see it
    pre-selected as an answer they cannot give."""
    if label and label not in labels:
        raise ValidationFailed(
            f"{where}: the model's label {label!r} is not one of the flow's labels "
            f"({', '.join(labels)})",
            details={"field": "prediction.label", "label": label, "labels": list(labels)},
        )


def prediction_in_content(content: Any) -> tuple[str, float | None]:
    """The model's label and confidence that an input content carries under "prediction"
    (the runtime API has no field of its own for them); ("", None) when there are none."""
    prediction = content.get("prediction") if isinstance(content, dict) else None
    if not isinstance(prediction, dict):
        return "", None
    label = prediction.get("label")
    confidence = prediction.get("confidence")
    if not isinstance(label, str):
        label = ""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        confidence = None
    return label[:200], None if confidence is None else float(confidence)


MODEL_NAME_KEYS = ("model", "modelName", "model_name")
MODEL_VERSION_KEYS = ("model_version", "modelVersion", "version")


def model_of_prediction(prediction: Any) -> tuple[str, str]:
    """The model's name and version a prediction object names (both optional, at most 100
    characters): ``model`` / ``modelName`` and ``model_version`` / ``modelVersion``."""
    if not isinstance(prediction, dict):
        return "", ""
    found = []
    for keys in (MODEL_NAME_KEYS, MODEL_VERSION_KEYS):
        value = next((prediction[key] for key in keys if key in prediction), "")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > 100:
            raise ValidationFailed(
                f"prediction.{keys[0]}: a string of at most 100 characters",
                details={"field": f"prediction.{keys[0]}"},
            )
        found.append(value)
    return found[0], found[1]


def parse_input_content(raw: str) -> Any:
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_CONTENT_CHARS:
        raise ValidationFailed(
            f"the input content must be a JSON text of at most {MAX_INPUT_CONTENT_CHARS} "
            "characters",
            details={"field": "InputContent"},
        )
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationFailed(
            "the input content is not valid JSON", details={"field": "InputContent"}
        ) from None
