"""What the text task types share: the input check and the answer-list consolidation result."""

from typing import Any

from django.conf import settings

from labeling.task_types.base import AnswerProblem, SourceProblem


def check_text_source(line: dict[str, Any]) -> str:
    source = line.get("source")
    if not isinstance(source, str):
        raise SourceProblem('a text item needs "source" with the text as a string')
    if not source.strip():
        raise SourceProblem('"source" is empty')
    if len(source) > settings.QUORUM_TEXT_MAX_CHARS:
        raise SourceProblem(
            f'"source" has {len(source)} characters; the limit is {settings.QUORUM_TEXT_MAX_CHARS}'
        )
    return source


def element_answer(answer: Any, key: str) -> Any:
    """``{"<element name>": {key: ...}}`` unwrapped to ``{key: ...}``; other shapes as they are."""
    if isinstance(answer, dict) and len(answer) == 1:
        (only,) = answer.values()
        if isinstance(only, dict) and key in only:
            return only
    return answer


def require_labels(labels: list[str]) -> None:
    if not labels:
        raise AnswerProblem("the job has no labels")
