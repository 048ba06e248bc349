"""Compile and render a user-authored task template; every failure names line and column.

A custom template is Liquid-flavoured HTML as the managed service's templates are written.
It is translated to Jinja2 (``liquid.translate``), compiled in ``TaskSandbox`` and rendered
with a fresh ``RenderBudget``. Errors become ``TemplateProblem`` with the position in the
author's own text.
"""

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.templatetags.static import static
from jinja2 import Template, TemplateError, TemplateSyntaxError

from labeling.templates_custom.liquid import LiquidSyntaxError, Translation, translate
from labeling.templates_custom.media import grant_read_access
from labeling.templates_custom.sandbox import (
    FILTERS,
    RenderBudget,
    RenderLimitExceeded,
    TaskSandbox,
    iterate_limited,
    render_globals,
)

MAX_TEMPLATE_CHARS = 512 * 1024
TEMPLATE_FILENAME = "<template>"
MANAGED_ELEMENTS_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']https://assets\.crowd\.aws/crowd-html-elements\.js[\"']"
    r"[^>]*>\s*</script>",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TemplateProblem(Exception):
    """Why a template failed: ``kind`` is syntax, render or limit; line/column are 1-based."""

    kind: str
    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"

    def as_details(self) -> dict[str, Any]:
        return {"kind": self.kind, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class CompiledTemplate:
    translation: Translation
    template: Template


def quorum_elements_script() -> str:
    return f'<script type="module" src="{static("quorum/elements/index.js")}"></script>'


def _replace_elements_script(source: str) -> str:
    """The managed service's element script becomes Quorum's own; lines stay where they were."""
    return MANAGED_ELEMENTS_SCRIPT.sub(
        lambda m: quorum_elements_script() + "\n" * m.group(0).count("\n"), source
    )


@lru_cache(maxsize=1)
def _sandbox() -> TaskSandbox:
    environment = TaskSandbox()
    environment.filters["grant_read_access"] = grant_read_access
    assert set(FILTERS) <= set(environment.filters)
    return environment


@lru_cache(maxsize=64)
def compile_template(source: str) -> CompiledTemplate:
    """Translate and compile ``source``; raises ``TemplateProblem`` (kind "syntax")."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(
            "syntax", f"the template has more than {MAX_TEMPLATE_CHARS} characters", 1, 1
        )
    try:
        translation = translate(_replace_elements_script(source))
    except LiquidSyntaxError as exc:
        raise TemplateProblem("syntax", exc.message, exc.line, exc.column) from None
    try:
        template = _sandbox().from_string(translation.source)
    except TemplateSyntaxError as exc:
        line = exc.lineno or 1
        column = _failing_syntax_column(translation, line)
        raise TemplateProblem("syntax", exc.message or str(exc), line, column) from None
    return CompiledTemplate(translation, template)


def _failing_line(exc: BaseException) -> int:
    line = 1
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _failing_syntax_column(translation: Translation, line: int) -> int:
    """The column of the output tag on ``line`` that does not compile on its own, if any."""
    for column, text in translation.output_tags_on(line):
        try:
            _sandbox().from_string(text)
        except TemplateSyntaxError:
            return column
    return translation.first_tag_column(line)


def _failing_render_column(
    translation: Translation, line: int, task: dict[str, Any], error: BaseException
) -> int:
    """The column of the output tag on ``line`` that fails alone with the same error.

    Only output tags are tried (they change nothing), each with a fresh budget; a tag that
    fails differently (say, on a name assigned earlier) does not count.
    """
    tags = translation.output_tags_on(line)
    if len(tags) > 1:
        for column, text in tags:
            budget = RenderBudget()
            try:
                template = _sandbox().from_string(text)
                iterate_limited(template.generate({"task": task, **render_globals(budget)}), budget)
            except Exception as exc:  # noqa: BLE001 - compared with the original error
                if type(exc) is type(error) and str(exc) == str(error):
                    return column
    return translation.first_tag_column(line)


def render_custom(source: str, task: dict[str, Any]) -> str:
    """Render ``source`` for the task context ``task``; raises ``TemplateProblem``."""
    compiled = compile_template(source)
    budget = RenderBudget()
    context = {"task": task, **render_globals(budget)}
    try:
        return iterate_limited(compiled.template.generate(context), budget)
    except RenderLimitExceeded as exc:
        kind, error = "limit", exc
    except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        kind, error = "render", exc
    line = _failing_line(error)
    message = str(error) or type(error).__name__
    column = _failing_render_column(compiled.translation, line, task, error)
    raise TemplateProblem(kind, message, line, column)


def custom_task_input(data: dict[str, Any]) -> dict[str, Any]:
    """``task.input`` as the managed service's templates expect it.

    They read the item as ``task.input.taskObject`` (the pre-annotation step's usual output):
    an item without one gets its ``source-ref`` or ``source`` there.
    """
    task_input = dict(data)
    if "taskObject" not in task_input:
        task_input["taskObject"] = data.get("source-ref", data.get("source", ""))
    return task_input


def sample_task(sample: Any) -> dict[str, Any]:
    """The context of a preview: ``sample`` is the item line (a dict or its JSON text)."""
    if isinstance(sample, str):
        sample = json.loads(sample) if sample.strip() else {}
    if not isinstance(sample, dict):
        raise TemplateProblem("render", "the sample item must be a JSON object", 1, 1)
    return {"input": custom_task_input(sample), "labels": [], "assignment_id": None}
