"""The console's template editor in Chromium: live preview, errors by line and column, save."""

import re
from typing import TYPE_CHECKING

import pytest

from labeling.models import CustomTemplateVersion, JobTemplate
from labeling.task_ui.services.templates import custom_template_create
from tests.browser.test_labeling_flow import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

START = """<crowd-form>
  <crowd-classifier name="tone" categories="['Happy', 'Sad']" header="{{ task.input.source }}">
  </crowd-classifier>
</crowd-form>"""


def test_edit_preview_fix_save_and_attach(page: "Page", manager, make_job, screenshot):
    template = custom_template_create(
        created_by=manager, name="Tone", source=START, sample={"source": "What a day"}
    )
    job = make_job(items=1, start=False, task_type="custom", labels=["Happy", "Sad"])
    sign_in(page, "pm", "manager-pass-1")
    expect(page).to_have_url(re.compile(r"/console/$"))
    page.get_by_role("link", name="Templates").click()
    page.get_by_role("link", name="Tone").click()
    preview = page.locator("#te-preview")
    expect(preview.locator(".qc-header")).to_have_text("What a day")

    # The sample drives the preview.
    page.get_by_label("Sample item").fill('{"source": "Rainy again"}')
    expect(preview.locator(".qc-header")).to_have_text("Rainy again")

    # A broken template: the error names line and column in the author's text.
    editor = page.get_by_label("Template")
    editor.fill("<crowd-form>\n  {% for x in task.input.list %}\n  <p>{{ x }}</p>\n</crowd-form>")
    error = page.locator("#te-error")
    expect(error).to_contain_text("line 2, column 3")
    expect(error).to_contain_text("endfor")
    screenshot(page, "template-editor-error")
    page.get_by_role("button", name="Go to the error").click()
    expect(page.locator("#te-position")).to_have_text("Line 2, column 3")

    editor.fill(START.replace("Sad", "Gloomy"))
    expect(error).to_be_hidden()
    expect(preview.get_by_role("button", name="Gloomy")).to_be_visible()
    preview.get_by_role("button", name="Gloomy").click()
    preview.get_by_role("button", name="Submit").click()
    expect(preview.locator(".crowd-form-message")).to_contain_text(
        'would submit {"tone":{"label":"Gloomy"}}'
    )
    screenshot(page, "template-editor-preview")

    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#te-saved")).to_have_text("Saved as version 2.")
    latest = CustomTemplateVersion.objects.get(template=template, number=2)
    assert "Gloomy" in latest.source
    assert latest.sample == {"source": "Rainy again"}

    page.get_by_label("Use for a draft job").select_option(str(job.pk))
    page.get_by_role("button", name="Use this version").click()
    expect(page.locator("#te-saved")).to_have_text("The job now uses version 2.")
    assert JobTemplate.objects.get(job=job).version == latest


def test_create_a_template_from_the_starter(page: "Page", manager):
    sign_in(page, "pm", "manager-pass-1")
    expect(page).to_have_url(re.compile(r"/console/$"))
    page.goto("/console/templates")
    page.get_by_label("Template name").fill("Starter")
    page.get_by_role("button", name="Create template").click()
    expect(page.locator(".message-success")).to_contain_text("Starter")
    expect(page.locator("#te-preview crowd-classifier")).to_be_visible()
    expect(page.locator("#te-preview classification-target")).to_contain_text("quiet this keyboard")
