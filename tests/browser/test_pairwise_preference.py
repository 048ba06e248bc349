"""The built-in UI of LLM pairwise preference in Chromium: long texts shown as safe Markdown
(code blocks kept, HTML never run), A / B / tie and strength from the keyboard, stored answers."""

import re
from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation
from labeling.services.jobs import job_start
from tests.conftest import import_lines

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

CODE = "def add(a, b):\n    return a + b  # <b>not bold</b>"
LINES = [
    {
        "prompt": 'Write **add** in Python <img src=x onerror="window.__pwned=1">',
        "response_a": "Sure:\n\n```python\n" + CODE + "\n```\n\n- short\n- `inline` code",
        "response_b": "<script>window.__pwned=2</script>Use JavaScript." + " long" * 3000,
    },
    {"prompt": "Capital of France?", "response_a": "Paris", "response_b": "Lyon"},
]


def test_pairwise_preference_with_the_keyboard(
    page: "Page", make_job, manager, labeler, screenshot
):
    from tests.browser.test_labeling_flow import sign_in

    job = make_job(
        items=0, start=False, task_type="llm-pairwise-preference", labels=["A", "B", "tie"]
    )
    import_lines(job, manager, LINES)
    job_start(job=job, by=manager)
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")

    element = page.locator("crowd-pairwise-preference")
    expect(element.locator(".qp-response")).to_have_count(2)
    # Markdown: the fenced code is one <pre><code> with its text as written; a list; bold.
    code = element.locator('[data-response="A"] pre code')
    expect(code).to_have_attribute("data-lang", "python")
    assert code.inner_text() == CODE
    expect(element.locator('[data-response="A"] li code')).to_have_text("inline")
    expect(element.locator(".qp-prompt strong")).to_have_text("add")
    # HTML in the texts is shown as text and runs nothing.
    expect(element.locator(".qp-prompt")).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(element.locator('[data-response="B"]')).to_contain_text("<script>window.__pwned=2")
    assert element.locator("img, script").count() == 0
    assert page.evaluate("() => window.__pwned") is None

    # The legend names the element's keys.
    legend = page.locator("#keys-help")
    expect(legend).to_contain_text("A is better")
    expect(legend).to_contain_text("a tie")

    page.keyboard.press("Enter")  # nothing chosen: refused
    expect(page.locator(".crowd-form-message")).to_contain_text("Choose A, B or a tie")
    page.keyboard.press("a")
    page.keyboard.press("ArrowRight")  # changed its mind: B
    expect(element.locator('.qc-choice[aria-pressed="true"][data-preference]')).to_contain_text(
        "B is better"
    )
    page.keyboard.press("3")
    expect(element.locator('.qp-strength[aria-pressed="true"]')).to_contain_text("much")
    screenshot(page, "llm-pairwise-preference")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")

    expect(page.locator("crowd-pairwise-preference .qp-prompt")).to_contain_text(
        "Capital of France"
    )
    page.keyboard.press("t")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("2")

    answers = [a.answer for a in Annotation.objects.filter(job=job).order_by("id")]
    assert answers == [{"preference": "B", "strength": 3}, {"preference": "tie", "strength": 1}]


def test_rubric_rating_with_the_keyboard(page: "Page", make_job, manager, labeler, screenshot):
    from tests.browser.test_labeling_flow import sign_in

    job = make_job(
        items=0, start=False, task_type="llm-rubric-rating", labels=["helpful", "correct", "safe"]
    )
    import_lines(
        job,
        manager,
        [{"prompt": "Sum?", "response": "```js\nlet x = '<b>' + 1;\n```\n<i>done</i>"}],
    )
    job_start(job=job, by=manager)
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")

    element = page.locator("crowd-rubric-rating")
    expect(element.locator(".qb-row")).to_have_count(3)
    expect(element.locator(".qp-response pre code")).to_have_text("let x = '<b>' + 1;")
    expect(element.locator(".qp-response")).to_contain_text("<i>done</i>")
    assert element.locator(".qp-response i, .qp-response b").count() == 0
    expect(page.locator("#keys-help")).to_contain_text("rate the current criterion")

    page.keyboard.press("4")  # helpful, then on to "correct"
    page.keyboard.press("2")
    page.keyboard.press("Enter")  # "safe" is not rated yet
    expect(page.locator(".crowd-form-message")).to_contain_text("Rate “safe” first")
    page.keyboard.press("ArrowUp")  # back to "correct"
    page.keyboard.press("3")
    page.keyboard.press("5")  # "safe"
    expect(
        element.locator('.qb-row[data-criterion="safe"] .qb-score[aria-pressed="true"]')
    ).to_have_text("5")
    screenshot(page, "llm-rubric-rating")
    element.locator(".qb-rationale").fill("Correct but 1 and Enter typed here do nothing")
    page.keyboard.press("1")  # typed into the rationale, not a rating
    element.locator(".qb-rationale").blur()
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    (answer,) = [a.answer for a in Annotation.objects.filter(job=job)]
    assert answer == {
        "ratings": {"helpful": 4, "correct": 3, "safe": 5},
        "rationale": "Correct but 1 and Enter typed here do nothing1",
    }
