"""User-authored task templates: Liquid compatibility, the sandbox, signed media URLs."""

from labeling.templates_custom.render import (
    CompiledTemplate,
    TemplateProblem,
    compile_template,
    custom_task_input,
    render_custom,
    sample_task,
)

__all__ = [
    "CompiledTemplate",
    "TemplateProblem",
    "compile_template",
    "custom_task_input",
    "render_custom",
    "sample_task",
]
