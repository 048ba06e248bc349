"""The task-type interface and registry shared by every task type."""

import json
from dataclasses import dataclass
from typing import Any, Protocol


class SourceProblem(ValueError):
    """An input line that this task type cannot take; the message names what is wrong."""


class AnswerProblem(ValueError):
    """An answer that does not fit the task type's schema."""


@dataclass(frozen=True)
class ParsedAnswer:
    answer: dict[str, Any]
    # The class chosen, for task types whose answer is one class; "" otherwise.
    label: str = ""


class TaskType(Protocol):
    key: str
    title: str
    media: str  # "text" or "image"
    manifest_type: str
    template_name: str
    consolidation: str

    def check_source(self, line: dict[str, Any]) -> None:
        """Raise SourceProblem when ``line`` cannot be an item of this task type."""

    def parse_answer(self, answer: Any, labels: list[str]) -> ParsedAnswer:
        """Validate a worker's answer; raise AnswerProblem naming what is wrong."""


@dataclass(frozen=True)
class Consolidated:
    """One item's consolidated label from a task type that consolidates its own answers."""

    value: dict[str, Any]
    confidence: float
    method: str
    label: str = ""


class StructuredTaskType(TaskType, Protocol):
    """A task type whose answer is more than one class (boxes, masks, tracks, ...).

    It consolidates its answers itself (with a pure strategy from ``labeling.consolidation``)
    and says how its consolidated value appears in the augmented manifest.
    """

    export_formats: tuple[str, ...]

    def consolidate_answers(
        self,
        answers: list[dict[str, Any]],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> Consolidated:
        """Consolidate the parsed answers of one item (one per worker, in arrival order);
        ``item_data`` is the item's input line, for types whose answers point into it."""

    def manifest_label(
        self, value: dict[str, Any], labels: list[str]
    ) -> tuple[Any, dict[str, Any]]:
        """The label attribute's value and the extra metadata keys of one manifest line."""


class CsvLabelled(Protocol):
    """A task type whose consolidated value is not one class says what the CSV export's
    ``label`` and ``class_id`` columns hold for it (types without this leave them as stored)."""

    def csv_columns(self, value: dict[str, Any], labels: list[str]) -> tuple[str, str]:
        """The CSV's (label, class_id) of one consolidated value."""


CSV_LIST_SEPARATOR = "|"


def csv_compact_json(value: Any, *, sort_keys: bool = False) -> str:
    """A value as one compact JSON cell of the CSV export (``sort_keys`` for values whose key
    order the database does not keep: PostgreSQL's jsonb reorders them)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)


def csv_multilabel_columns(value: dict[str, Any]) -> tuple[str, str]:
    """A multi-label value's labels and class ids, each joined with ``|``."""
    return (
        CSV_LIST_SEPARATOR.join(value["labels"]),
        CSV_LIST_SEPARATOR.join(str(i) for i in value["class_ids"]),
    )


class LabelsInValue(Protocol):
    """A task type whose consolidated value holds several of the job's labels (a multi-label
    set; boxes, polygons, masks or spans each with a label) says which: the job page's
    per-label counts and the data manager's label filter are kept from this."""

    def value_labels(self, value: dict[str, Any]) -> list[str]:
        """The labels that one consolidated value contains (each may repeat)."""


def holds_several_labels(task_type: TaskType) -> bool:
    """Whether a consolidated value of ``task_type`` may hold several of the job's labels
    (``LabelsInValue``): its per-label counts and label filter read
    ``ConsolidatedLabelClass``, not ``ConsolidatedLabel.label``."""
    return hasattr(task_type, "value_labels")


def labels_in_value(task_type: TaskType, value: Any) -> list[str] | None:
    """The distinct labels a consolidated value contains, sorted; None for task types whose
    value is one class (their ``ConsolidatedLabel.label`` says it). A value that is not shaped
    as the type writes it contains none."""
    if not holds_several_labels(task_type):
        return None
    try:
        found = list(task_type.value_labels(value))
    except (KeyError, TypeError, AttributeError, IndexError):
        return []
    return sorted({name[:200] for name in found if isinstance(name, str) and name})


def is_structured(task_type: TaskType) -> bool:
    return hasattr(task_type, "consolidate_answers")


def answers_one_class(task_type: TaskType) -> bool:
    """Whether an answer of ``task_type`` is one class of the job's labels: the only kind of
    label a manager can set as a final label or a gold item's known answer."""
    return bool(getattr(task_type, "answer_is_one_class", False))


_REGISTRY: dict[str, TaskType] = {}
# Task types that another app registers for jobs it creates itself: key -> what for.
_RESERVED: dict[str, str] = {}


def register_task_type(task_type: TaskType, *, reserved_for: str = "") -> TaskType:
    """Add a task type; with ``reserved_for`` (what it serves, for error messages) it is not
    offered for new jobs, and the job-create form and API refuse it by name."""
    _REGISTRY[task_type.key] = task_type
    if reserved_for:
        _RESERVED[task_type.key] = reserved_for
    return task_type


def get_task_type(key: str) -> TaskType:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(
            f"unknown task type {key!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def task_type_choices() -> list[tuple[str, str]]:
    """The task types a manager may choose for a new job (reserved ones left out)."""
    return [(t.key, t.title) for t in _REGISTRY.values() if t.key not in _RESERVED]


def task_type_reserved_message(key: str) -> str:
    """Why ``key`` can't be chosen for a new job, or "" when it can (or is unknown)."""
    reserved_for = _RESERVED.get(key)
    if not reserved_for:
        return ""
    return f"task type {key!r} is reserved for {reserved_for}; it can't be chosen for a job"


class AnswerCompared(Protocol):
    """A task type that says how alike two answers of one item are (drawing and span types).

    ``answer`` and ``other`` are each either a parsed answer (``parse_answer(...).answer``) or
    a consolidated value (``consolidate_answers(...).value``) of this type, in any mix:
    gold compares a worker's answer with the gold item's known answer (a parsed answer);
    agreement compares two workers' answers; reliability compares a worker's answer with the
    item's consolidated value. The result is in [0, 1], symmetric, 1 for the same answer
    and for two empty ones; what it measures per type is in
    ``labeling.consolidation.similarity``.
    """

    def answer_similarity(
        self,
        answer: dict[str, Any],
        other: dict[str, Any],
        labels: list[str],
        *,
        item_data: dict[str, Any] | None = None,
    ) -> float:
        """How alike ``answer`` and ``other`` are, in [0, 1]."""


def answers_compared(task_type: TaskType) -> bool:
    """Whether ``task_type`` can score how alike two answers are (``AnswerCompared``)."""
    return hasattr(task_type, "answer_similarity")
