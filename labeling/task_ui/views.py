"""Console pages of custom task templates: the list, and the editor with its live preview.

The editor's script talks to the template API itself (preview, save, attach to a job).
"""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from labeling.errors import QuorumError
from labeling.task_ui import selectors
from labeling.task_ui.services.templates import custom_template_create
from labeling.views import manager_page

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
