"""The task-type interface and registry shared by every task type."""

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


def is_structured(task_type: TaskType) -> bool:
    return hasattr(task_type, "consolidate_answers")


_REGISTRY: dict[str, TaskType] = {}


def register_task_type(task_type: TaskType) -> TaskType:
    _REGISTRY[task_type.key] = task_type
    return task_type


def get_task_type(key: str) -> TaskType:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(
            f"unknown task type {key!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def task_type_choices() -> list[tuple[str, str]]:
    return [(t.key, t.title) for t in _REGISTRY.values()]
