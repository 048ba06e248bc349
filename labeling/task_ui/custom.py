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

from jinja2 import Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SecurityError

from labeling.task_ui.frame import ASSETS_PATH_PREFIX
from labeling.task_ui.liquid import LiquidSyntaxError, Translation, translate
from labeling.task_ui.media import grant_read_access
from labeling.task_ui.sandbox import (
    FILTERS,
    RenderBudget,
    RenderLimitExceeded,
    TaskSandbox,
    iterate_limited,
    render_globals,
)

MAX_TEMPLATE_CHARS = 512 * 1024
# Finding which of several tags on a line failed re-renders them: within this time, in all.
MAX_COLUMN_SEARCH_SECONDS = 0.5
TEMPLATE_FILENAME = "<template>"
MANAGED_ELEMENTS_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']https://assets\.crowd\.aws/crowd-html-elements(?:-v2)?\.js[\"']"
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
    """Quorum's elements, as the task frame loads them (CORS-readable for its opaque origin)."""
    return f'<script type="module" src="{ASSETS_PATH_PREFIX}elements/index.js"></script>'


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
        tree = _sandbox().parse(translation.source)
        _check_tree(tree)
        template = _sandbox().from_string(tree)
    except TemplateSyntaxError as exc:
        line = exc.lineno or 1
        column = _failing_syntax_column(translation, line)
        raise TemplateProblem("syntax", exc.message or str(exc), line, column) from None
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        # A number literal past Python's 4,300 digits, or brackets nested thousands deep.
        line, column = _failing_output_tag(translation)
        raise TemplateProblem("syntax", _compile_failure_message(exc), line, column) from None
    return CompiledTemplate(translation, template)


def _compile_failure_message(exc: BaseException) -> str:
    if isinstance(exc, ValueError):
        return "a number in the template has too many digits"
    return "the template nests brackets or expressions too deeply"


def _failing_output_tag(translation: Translation) -> tuple[int, int]:
    """The position of the first output tag that does not compile on its own (else 1, 1)."""
    for line, column, text in translation.output_tags:
        try:
            _sandbox().parse(text)
        except (TemplateSyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
            return line, column
    return 1, 1


def _check_tree(tree: nodes.Node) -> None:
    """Refuse, with its line, what the sandbox cannot bound while rendering.

    ``self`` is Jinja's reference to the template object, not data. A list or mapping
    written in the template holds only fixed values: one that holds names could nest the
    same value in itself again and again, and comparing or printing that is a single
    Python step that the time budget cannot stop."""
    for name in tree.find_all(nodes.Name):
        if name.name == "self" and name.ctx == "load":
            raise TemplateSyntaxError(
                "the template has no variable 'self': a task template sees only `task` and "
                "what it assigns",
                name.lineno,
            )
    for literal in tree.find_all((nodes.List, nodes.Tuple, nodes.Dict)):
        if getattr(literal, "ctx", "load") == "load" and not _holds_fixed_values(literal):
            raise TemplateSyntaxError(
                "a list written in a task template may hold only fixed values "
                '(like ["a", "b"]), not names or expressions',
                literal.lineno,
            )


def _holds_fixed_values(literal: nodes.Node) -> bool:
    fixed = (nodes.Const, nodes.List, nodes.Tuple, nodes.Dict)
    for part in literal.iter_child_nodes():
        values = [part.key, part.value] if isinstance(part, nodes.Pair) else [part]
        if not all(isinstance(value, fixed) for value in values):
            return False
    return True


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
            _check_tree(_sandbox().parse(text))
            _sandbox().from_string(text)
        except (TemplateSyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
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
    if len(tags) > 1 and not _is_time_limit(error):
        budget = RenderBudget(seconds=MAX_COLUMN_SEARCH_SECONDS)
        for column, text in tags:
            try:
                budget.check_time()
            except RenderLimitExceeded:
                break
            try:
                template = _sandbox().from_string(text)
                iterate_limited(template.generate({"task": task, **render_globals(budget)}), budget)
            except Exception as exc:  # noqa: BLE001 - compared with the original error
                if type(exc) is type(error) and str(exc) == str(error):
                    return column
    return translation.first_tag_column(line)


def _is_time_limit(error: BaseException) -> bool:
    return isinstance(error, RenderLimitExceeded) and "longer than" in str(error)


# What the author reads for Python's own errors: theirs name Python classes (``'int' and
# 'str'``), and the int-to-text one names ``sys.set_int_max_str_digits``.
_PYTHON_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (ZeroDivisionError, "division by zero"),
    (OverflowError, "a number is too large for the template to compute"),
    (RecursionError, "the template nests too deeply"),
    (TypeError, "these values cannot be used together here (say, text and a number)"),
    (ValueError, "a value is not valid here (say, a number too large to show)"),
    (ArithmeticError, "this arithmetic cannot be done"),
)


def _author_message(error: BaseException) -> str:
    """The sentence an author sees for ``error``: Quorum's own, never Python's internals."""
    if isinstance(error, (SecurityError, TemplateError)) and not _looks_internal(str(error)):
        return str(error) or "the template failed"
    for kind, message in _PYTHON_ERRORS:
        if isinstance(error, kind):
            return message
    return "the template failed"


_INTERNAL = re.compile(r"0x[0-9a-fA-F]{4,}|<[\w.]+ (?:object|at)\b|\b\w+\.py\b|Traceback")


def _looks_internal(message: str) -> bool:
    return bool(_INTERNAL.search(message))


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
    column = _failing_render_column(compiled.translation, line, task, error)
    raise TemplateProblem(kind, _author_message(error), line, column)


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
        try:
            sample = json.loads(sample) if sample.strip() else {}
        except json.JSONDecodeError as exc:
            raise TemplateProblem(
                "render", f"the sample item is not valid JSON: {exc.msg}", exc.lineno, exc.colno
            ) from None
        except ValueError:  # an integer past Python's 4,300 digits
            raise TemplateProblem(
                "render", "a number in the sample item has too many digits", 1, 1
            ) from None
    if not isinstance(sample, dict):
        raise TemplateProblem("render", "the sample item must be a JSON object", 1, 1)
    return {"input": custom_task_input(sample), "labels": [], "assignment_id": None}
