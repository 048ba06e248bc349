"""Task UIs: Jinja2 task templates rendered in a sandbox for one worker's lease.

Built-in task types keep their templates in ``templates/tasks/``. Every template, built-in or
(later) user-authored, renders through the one environment that ``task_environment`` builds:
sandboxed, autoescaped, and with its output capped.
"""

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from jinja2 import BaseLoader, FileSystemLoader, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from labeling.models import Assignment
from labeling.task_types import get_task_type
from labeling.task_ui.custom import TemplateProblem, custom_task_input, render_custom
from labeling.task_ui.frame import frame_markup, frame_url
from labeling.task_ui.selectors import job_custom_source

MAX_TASK_HTML_CHARS = 2 * 1024 * 1024
TEMPLATE_PREFIX = "tasks/"
# Other apps add keys under ``task`` (a model's suggestion, …); they register in ready().
_CONTEXT_EXTENSIONS: list[Callable[[Assignment], dict[str, Any]]] = []


def register_task_context(extension: Callable[[Assignment], dict[str, Any]]) -> None:
    if extension not in _CONTEXT_EXTENSIONS:
        _CONTEXT_EXTENSIONS.append(extension)


class TaskRenderError(Exception):
    """A task template could not be rendered; the message says why."""


def task_environment(loader: BaseLoader) -> SandboxedEnvironment:
    """The sandboxed environment every task template renders in, over ``loader``."""
    return SandboxedEnvironment(
        loader=loader,
        autoescape=True,
        auto_reload=settings.DEBUG,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def _builtin_environment() -> SandboxedEnvironment:
    return task_environment(FileSystemLoader(settings.BASE_DIR / "templates" / "tasks"))


def task_context(assignment: Assignment) -> dict[str, Any]:
    """What a task template sees, all under ``task``: the item, labels and instructions."""
    job = assignment.job
    task_type = get_task_type(job.task_type)
    media_url = f"/api/v1/items/{assignment.item_id}/media" if task_type.media == "image" else None
    line = json.loads(assignment.item.data)
    # What a task type derives from the item for its template (boxes to adjust, frames, ...).
    extra = task_type.template_context(line) if hasattr(task_type, "template_context") else {}
    context = {
        "task": {
            "assignment_id": assignment.pk,
            "item_id": assignment.item_id,
            "input": line,
            "extra": extra,
            "labels": list(job.labels),
            "short_instructions": job.short_instructions,
            "full_instructions": job.full_instructions,
            "examples": list(job.examples),
            "media_url": media_url,
            "allow_overlap": getattr(task_type, "allow_overlap", False),
        }
    }
    for extension in _CONTEXT_EXTENSIONS:
        context["task"].update(extension(assignment))
    return context


def render_template(template: Template, context: dict[str, Any]) -> str:
    """Render ``template`` chunk by chunk, refusing output over ``MAX_TASK_HTML_CHARS``."""
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_TASK_HTML_CHARS:
                raise TaskRenderError(
                    f"the task template produced more than {MAX_TASK_HTML_CHARS} characters"
                )
            parts.append(chunk)
    except TemplateError as exc:  # the sandbox's SecurityError is one of these
        raise TaskRenderError(f"the task template failed: {exc}") from exc
    return "".join(parts)


def render_task(assignment: Assignment) -> str:
    """The task UI of ``assignment`` (with its job and item loaded) as an HTML fragment."""
    custom_source = job_custom_source(job_id=assignment.job_id)
    if custom_source is not None:
        context = task_context(assignment)["task"]
        context["input"] = custom_task_input(context["input"])
        try:
            return render_custom(custom_source, context)
        except TemplateProblem as problem:
            raise TaskRenderError(f"the job's custom template failed: {problem}") from problem
    return _render_builtin(assignment)


def task_ui_html(assignment: Assignment) -> str:
    """What the work page shows for a lease: a custom template's sandboxed frame (its own
    page, ``labeling/task_ui/frame.py``) or the built-in task UI, rendered here."""
    if job_custom_source(job_id=assignment.job_id) is None:
        return _render_builtin(assignment)
    url = frame_url(
        assignment_id=assignment.pk,
        worker_id=assignment.worker_id,
        expires_at=assignment.expires_at,
    )
    return frame_markup(url=url, assignment_id=assignment.pk)


def _render_builtin(assignment: Assignment) -> str:
    template_name = get_task_type(assignment.job.task_type).template_name
    if not template_name:
        raise TaskRenderError(
            "this job has no task template yet: a manager attaches one in the console's "
            "template editor"
        )
    if not template_name.startswith(TEMPLATE_PREFIX):
        raise TaskRenderError(f"task templates live under {TEMPLATE_PREFIX}, not {template_name}")
    try:
        template = _builtin_environment().get_template(template_name.removeprefix(TEMPLATE_PREFIX))
    except TemplateError as exc:
        raise TaskRenderError(f"the task template {template_name} failed to load: {exc}") from exc
    return render_template(template, task_context(assignment))
