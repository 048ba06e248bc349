"""Console pages of custom task templates (the list, and the editor with its live preview),
and the isolated task frame a custom template runs in (its page and its element assets).

The editor's script talks to the template API itself (preview, save, attach to a job).
"""

from django import forms
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods

from labeling.errors import QuorumError
from labeling.task_ui import selectors
from labeling.task_ui.frame import (
    ASSETS_PATH_PREFIX,
    FrameTokenInvalid,
    asset_content_type,
    frame_content_security_policy,
    frame_token_open,
)
from labeling.task_ui.rendering import TaskRenderError, render_task
from labeling.task_ui.services.templates import custom_template_create
from labeling.views import manager_page

ASSET_MAX_AGE_SECONDS = 300

STARTER_TEMPLATE = """<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>

<crowd-form>
  <crowd-classifier name="category" categories="['Positive', 'Negative', 'Neutral']"
      header="What is the tone of this text?">
    <classification-target>
      {{ task.input.taskObject | escape }}
    </classification-target>
    <full-instructions header="Tone">
      <p>Choose the tone the writer meant.</p>
    </full-instructions>
    <short-instructions>
      <p>Pick one tone.</p>
    </short-instructions>
  </crowd-classifier>
</crowd-form>
"""
STARTER_SAMPLE = {"source": "I love how quiet this keyboard is."}


class TemplateCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Template name")
    source = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Template (leave empty for a starter)",
        strip=False,
    )


@require_http_methods(["GET", "POST"])
@manager_page
def templates_list(request: HttpRequest) -> HttpResponse:
    form = TemplateCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            template = custom_template_create(
                created_by=request.user,
                name=form.cleaned_data["name"],
                source=form.cleaned_data["source"] or STARTER_TEMPLATE,
                sample=STARTER_SAMPLE,
            )
        except QuorumError as exc:
            form.add_error("source" if exc.details.get("line") else "name", exc.message)
        else:
            messages.success(request, f"Template “{template.name}” created.")
            return redirect("console-template", template_id=template.pk)
    return render(
        request,
        "console/templates.html",
        {"templates": selectors.custom_template_list(), "form": form},
    )


@require_GET
@manager_page
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    template = selectors.custom_template_get(template_id=template_id)
    if template is None:
        raise Http404("no such template")
    version = selectors.custom_template_version(template_id=template.pk)
    return render(
        request,
        "console/template_edit.html",
        {
            "template": template,
            "version": version,
            "versions": selectors.custom_template_versions(template_id=template.pk),
            "draft_jobs": selectors.draft_jobs(),
        },
    )


# --- The isolated task frame ------------------------------------------------------------------


def _frame_response(request: HttpRequest, *, body: str = "", problem: str = "", status=200):
    origin = f"{request.scheme}://{request.get_host()}"
    html = render_to_string(
        "work/task_frame.html",
        {"origin": origin, "assets": ASSETS_PATH_PREFIX, "body": body, "problem": problem},
    )
    response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = frame_content_security_policy(origin)
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def task_frame(request: HttpRequest, token: str) -> HttpResponse:
    """A custom template's page for the lease its signed token names (no session: the token,
    which ends with the lease, is the permission; the frame's origin is opaque anyway)."""
    try:
        grant = frame_token_open(token)
    except FrameTokenInvalid as exc:
        return _frame_response(request, problem=str(exc), status=404)
    assignment = selectors.leased_task_for_frame(
        assignment_id=grant.assignment_id, worker_id=grant.worker_id
    )
    if assignment is None:
        return _frame_response(request, problem="This task is no longer yours.", status=404)
    try:
        body = render_task(assignment)
    except TaskRenderError as exc:
        return _frame_response(request, problem=str(exc), status=500)
    return _frame_response(request, body=body)


@require_GET
def task_frame_asset(request: HttpRequest, name: str) -> FileResponse:
    """An element script or style sheet from the package, readable by the frame's opaque
    origin (module scripts are fetched with CORS): ``Access-Control-Allow-Origin: *``."""
    content_type = asset_content_type(name)
    path = finders.find(f"quorum/{name}") if content_type else None
    if not path:
        raise Http404("no such task asset")
    response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE_SECONDS}"
    return response
