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


def check_text_fields(line: dict[str, Any], fields: tuple[str, ...], what: str) -> None:
    """Each of ``fields`` a non-empty string within the text limit (``what`` names the item
    kind in the message, e.g. "an LLM rubric item")."""
    quoted = [f'"{field}"' for field in fields]
    listed = ", ".join(quoted[:-1]) + f" and {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    for field in fields:
        text = line.get(field)
        if not isinstance(text, str) or not text.strip():
            raise SourceProblem(f'{what} needs "{field}" as a non-empty string (with {listed})')
        if len(text) > settings.QUORUM_TEXT_MAX_CHARS:
            raise SourceProblem(
                f'"{field}" has {len(text)} characters; '
                f"the limit is {settings.QUORUM_TEXT_MAX_CHARS}"
            )


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
