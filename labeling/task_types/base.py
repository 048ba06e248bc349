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
