"""The keyboard UIs of side-by-side comparison, question–answer writing and ranking in
Chromium: long texts as safe Markdown, filled from the keyboard, submitted, answers stored."""

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

LONG = "\n\n".join(f"Paragraph {i} of a long answer." for i in range(120))


def _open(page: "Page", make_job, manager, task_type: str, labels: list[str], lines: list[dict]):
    from tests.browser.test_labeling_flow import sign_in

    job = make_job(items=0, start=False, task_type=task_type, labels=labels)
    import_lines(job, manager, lines)
    job_start(job=job, by=manager)
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")
    return job


def test_side_by_side_with_the_keyboard(page: "Page", make_job, manager, labeler, screenshot):
    line = {
        "prompt": 'Explain <img src=x onerror="window.__pwned=1"> **sorting**',
        "response_a": "```python\nsorted(xs)\n```\n\n" + LONG,
        "response_b": "<script>window.__pwned=2</script>Use a loop.\n\n" + LONG,
    }
    job = _open(page, make_job, manager, "llm-side-by-side", ["correct", "style"], [line])
    element = page.locator("crowd-side-by-side")
    expect(element.locator(".qs-dimension")).to_have_count(3)  # correct, style, overall
    expect(element.locator('[data-response="Response A"] pre code')).to_have_text("sorted(xs)")
    expect(element.locator(".qp-prompt")).to_contain_text('<img src=x onerror="window.__pwned=1">')
    assert element.locator("img, script").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    expect(page.locator("#keys-help")).to_contain_text("A is better")

    # Scrolling A scrolls B along (the default); Y turns it off.
    page.evaluate(
        """() => { const a = document.querySelector('[data-response="Response A"]');
        a.scrollTop = a.scrollHeight; }"""
    )
    page.wait_for_function(
        """() => document.querySelector('[data-response="Response B"]').scrollTop > 100"""
    )

    page.keyboard.press("Enter")  # nothing chosen yet: refused
    expect(page.locator(".crowd-form-message")).to_contain_text("“correct”")
    page.keyboard.press("1")  # correct: A
    page.keyboard.press("Shift+Digit3")  # much better, on to "style"
    expect(element.locator('.qs-dimension[data-dimension="style"]')).to_have_class(
        re.compile("qs-current")
    )
    page.keyboard.press("2")  # style: a tie, on to "overall"
    page.keyboard.press("3")  # overall: B
    page.keyboard.press("Shift+Digit1")  # slightly
    expect(
        element.locator('.qs-dimension[data-dimension="overall"] [data-strength="1"]')
    ).to_have_attribute("aria-pressed", "true")
    element.locator(".qs-rationale").fill("A is right, B reads better; 1 2 3 typed here")
    element.locator(".qs-rationale").blur()
    screenshot(page, "llm-side-by-side")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    (answer,) = [a.answer for a in Annotation.objects.filter(job=job)]
    assert answer == {
        "dimensions": {
            "correct": {"preference": "A", "strength": 3},
            "style": {"preference": "tie", "strength": 1},
            "overall": {"preference": "B", "strength": 1},
        },
        "rationale": "A is right, B reads better; 1 2 3 typed here",
    }


def test_question_answer_writing_with_the_keyboard(
    page: "Page", make_job, manager, labeler, screenshot
):
    line = {
        "context": "# Paris\n\nParis is the capital of **France**.\n\n<b>not bold</b>",
        "min_questions": 1,
        "max_questions": 2,
    }
    job = _open(page, make_job, manager, "llm-qa-writing", ["fact", "number"], [line])
    element = page.locator("crowd-question-answer-generation")
    expect(element.locator(".qq-text .qm-h1")).to_have_text("Paris")
    expect(element.locator(".qq-text strong")).to_have_text("France")
    expect(element.locator(".qq-text")).to_contain_text("<b>not bold</b>")
    expect(page.locator("#keys-help")).to_contain_text("add a pair")
    expect(element.locator(".qq-pair")).to_have_count(1)
    question = element.locator(".qq-pair").nth(0).locator("textarea").nth(0)
    question.click()
    page.keyboard.type("What is the capital of France?")
    page.keyboard.press("Control+Enter")  # the answer is empty: it goes there
    expect(element.locator(".qq-pair").nth(0).locator("textarea").nth(1)).to_be_focused()
    page.keyboard.type("Paris")
    element.locator(".qq-pair").nth(0).get_by_label("fact").check()
    element.locator(".qq-pair").nth(0).locator("textarea").nth(1).focus()
    page.keyboard.press("Control+Enter")  # a second pair
    expect(element.locator(".qq-pair")).to_have_count(2)
    page.keyboard.type("Which country?")
    page.keyboard.press("Tab")
    page.keyboard.type("France")
    screenshot(page, "llm-qa-writing")
    page.keyboard.press("Control+Enter")  # at the maximum: submits
    expect(page.locator("#done-count")).to_have_text("1")
    (answer,) = [a.answer for a in Annotation.objects.filter(job=job)]
    assert answer == {
        "pairs": [
            {"question": "What is the capital of France?", "answer": "Paris", "tags": ["fact"]},
            {"question": "Which country?", "answer": "France", "tags": []},
        ]
    }


def test_ranking_with_the_keyboard(page: "Page", make_job, manager, labeler, screenshot):
    line = {"prompt": "Best greeting?", "responses": ["Hi", "**Hello**", "Yo"]}
    job = _open(page, make_job, manager, "llm-ranking", ["quality", "safety"], [line])
    element = page.locator("crowd-text-ranking")
    expect(element.locator(".ql-row")).to_have_count(3)
    expect(element.locator(".ql-row strong")).to_have_text("Hello")
    expect(page.locator("#keys-help")).to_contain_text("move it up / down")
    page.keyboard.press("Enter")
    expect(page.locator(".crowd-form-message")).to_contain_text("Rank every response")
    page.keyboard.press("ArrowDown")  # select "Hello"
    page.keyboard.press("Shift+ArrowUp")  # move it to the top
    expect(element.locator(".ql-row").first).to_have_attribute("data-response", "1")
    page.keyboard.press("ArrowDown")  # "Hi", second
    page.keyboard.press("t")  # tied with "Hello"
    expect(element.locator(".ql-row").nth(1).locator(".ql-tie")).to_have_count(1)
    page.keyboard.press("ArrowRight")  # safety
    expect(element.locator('.ql-tab[aria-selected="true"]')).to_have_text("safety")
    page.keyboard.press("k")  # keep the order shown
    screenshot(page, "llm-ranking-keyboard")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    (answer,) = [a.answer for a in Annotation.objects.filter(job=job)]
    assert answer == {"ranks": {"quality": [1, 1, 2], "safety": [1, 2, 3]}}
