"""Templates written as for the managed service, filled in and submitted in Chromium.

Each test attaches a template in that style to a custom job, labels its one item in the
labeler's work page, and checks the stored answer has the shape the elements document.
"""

import json
import re
from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation
from labeling.services.jobs import job_start
from tests.browser.test_labeling_flow import sign_in
from tests.conftest import import_lines

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def submitted(page: "Page", job) -> dict:
    expect(page.locator("#done-count")).to_have_text("1")
    return Annotation.objects.get(job=job).answer


def test_crowd_classifier_with_instructions(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-classifier name="category" categories="['Dog', 'Cat', 'Bird']" header="What is it?">
    <classification-target><p>{{ task.input.source | escape }}</p></classification-target>
    <full-instructions header="How to classify"><p>Look at the animal.</p></full-instructions>
    <short-instructions><p>Pick one animal.</p></short-instructions>
  </crowd-classifier>
</crowd-form>""",
        {"source": "Woof <b>woof</b>"},
    )
    expect(task.locator("classification-target")).to_contain_text("Woof <b>woof</b>")
    expect(task.locator("short-instructions")).to_contain_text("Pick one animal.")
    page.keyboard.press("i")
    expect(task.locator("dialog[open]")).to_contain_text("Look at the animal.")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    expect(task.get_by_role("button", name="Dog")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Enter")
    assert submitted(page, job) == {"category": {"label": "Dog"}}


def test_crowd_classifier_multi_select(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-classifier-multi-select name="topics" categories='["news", "sport", "tech"]'
      header="Which topics?">
    <classification-target>{{ task.input.source }}</classification-target>
  </crowd-classifier-multi-select>
</crowd-form>""",
        {"source": "A robot wins the cup"},
    )
    page.keyboard.press("Enter")
    expect(task.locator(".crowd-form-message")).to_contain_text("at least one")
    task.get_by_role("button", name="tech").click()
    page.keyboard.press("2")
    page.keyboard.press("1")
    page.keyboard.press("1")  # toggled off again
    page.keyboard.press("Enter")
    assert submitted(page, job) == {"topics": {"labels": ["sport", "tech"]}}


def test_crowd_image_classifier_with_a_signed_image(page: "Page", task, work_on, settings):
    (settings.MEDIA_ROOT / "cat.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"></svg>'
    )
    job = work_on(
        """<crowd-form>
  <crowd-image-classifier name="animal" src="{{ task.input.taskObject | grant_read_access }}"
      categories="['Dog', 'Cat']" header="Which animal?">
    <short-instructions>Choose one.</short-instructions>
  </crowd-image-classifier>
</crowd-form>""",
        {"source-ref": "cat.svg"},
    )
    image = task.locator("crowd-image-classifier img")
    expect(image).to_have_attribute("src", re.compile(r"/api/v1/media/signed/"))
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 40
    task.get_by_role("button", name="Cat").click()
    page.keyboard.press("Enter")
    assert submitted(page, job) == {"animal": {"label": "Cat"}}


def test_crowd_entity_annotation_small(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-entity-annotation name="entities" header="Mark people and places"
      labels='[{"label": "person", "shortDisplayName": "per", "fullDisplayName": "Person"},
               {"label": "place"}]'
      text="{{ task.input.source }}">
    <short-instructions>Mark every person and place.</short-instructions>
  </crowd-entity-annotation>
</crowd-form>""",
        {"source": "🙂 Zoë\r\nwent to Paris."},
    )
    text = task.locator(".qe-doc")
    text.focus()
    page.keyboard.press("ArrowRight")  # past the emoji, onto Zoë
    page.keyboard.press("1")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # "Paris" (the full stop is its own token)
    page.keyboard.press("2")
    expect(task.locator(".qe-list li")).to_have_count(2)
    page.keyboard.press("Enter")
    # Offsets in code points: the emoji is one, as Python counts it (two UTF-16 units in JS),
    # and the CR of CR LF is kept (HTML parsing would fold CR LF into LF).
    text = "🙂 Zoë\r\nwent to Paris."
    assert submitted(page, job) == {
        "entities": {
            "entities": [
                {"label": "person", "startOffset": 2, "endOffset": 5},
                {"label": "place", "startOffset": 15, "endOffset": 20},
            ]
        }
    }
    assert (text[2:5], text[15:20]) == ("Zoë", "Paris")


def test_crowd_input_and_text_area(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-input name="tag" label="One word for it" required max-length="20"></crowd-input>
  <crowd-input name="count" label="How many" type="number"></crowd-input>
  <crowd-text-area name="comment" label="Anything else?" rows="3" char-counter></crowd-text-area>
</crowd-form>""",
        {"source": "x"},
    )
    task.get_by_role("button", name="Submit").click()
    expect(task.locator(".crowd-form-message")).to_contain_text("One word for it")
    task.get_by_label("One word for it").fill("blue")
    task.get_by_label("How many").fill("3")
    task.get_by_label("Anything else?").fill("two\nlines")
    expect(task.locator(".qf-counter")).to_have_text("9")
    task.get_by_role("button", name="Submit").click()
    assert submitted(page, job) == {"tag": "blue", "count": 3, "comment": "two\nlines"}


def test_crowd_checkbox(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-checkbox name="theCheckbox" value="someValue">It is readable</crowd-checkbox>
  <crowd-checkbox name="second">Unchecked by default</crowd-checkbox>
</crowd-form>""",
        {"source": "x"},
    )
    task.get_by_label("It is readable").check()
    task.get_by_role("button", name="Submit").click()
    assert submitted(page, job) == {
        "theCheckbox": {"someValue": True},
        "second": {"on": False},
    }


def test_crowd_radio_group_and_buttons(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-radio-group>
    <crowd-radio-button name="btn1" value="yes">Yes</crowd-radio-button>
    <crowd-radio-button name="btn2" value="no">No</crowd-radio-button>
  </crowd-radio-group>
</crowd-form>""",
        {"source": "x"},
    )
    task.get_by_label("No").check()
    page.keyboard.press("ArrowUp")  # native radio keys move the choice within the group
    expect(task.get_by_label("Yes")).to_be_checked()
    task.get_by_role("button", name="Submit").click()
    assert submitted(page, job) == {"btn1": {"yes": True}, "btn2": {"no": False}}


def test_crowd_slider(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-slider name="howMuch" label="How much" min="1" max="10" step="1" value="5" pin>
  </crowd-slider>
</crowd-form>""",
        {"source": "x"},
    )
    task.get_by_label("How much").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(task.locator("crowd-slider output")).to_have_text("7")
    task.get_by_role("button", name="Submit").click()
    assert submitted(page, job) == {"howMuch": 7}


def test_crowd_button_submits_the_form(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-input name="word" label="Word"></crowd-input>
  <crowd-button form-action="submit" variant="primary">Send it</crowd-button>
</crowd-form>""",
        {"source": "x"},
    )
    task.get_by_label("Word").fill("hello")
    task.get_by_role("button", name="Send it").click()
    assert submitted(page, job) == {"word": "hello"}


def test_layout_elements_card_alert_toast_modal_instructions(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-instructions link-text="View instructions" link-type="button">
    <short-summary><p>Read the card.</p></short-summary>
    <detailed-instructions><p>Every detail matters.</p></detailed-instructions>
    <positive-example><p>A good answer.</p></positive-example>
    <negative-example><p>A bad answer.</p></negative-example>
  </crowd-instructions>
  <crowd-card heading="{{ task.input.title | upcase }}">
    <div class="card-content">{{ task.input.source }}</div>
  </crowd-card>
  <crowd-alert type="warning" dismissible>Mind the <b>spelling</b>.</crowd-alert>
  <crowd-toast duration="60000" text="Welcome back"></crowd-toast>
  <crowd-modal link-text="Show the glossary">Glossary: a word list.</crowd-modal>
  <crowd-input name="summary" label="Summary"></crowd-input>
</crowd-form>""",
        {"source": "The card's text.", "title": "a title"},
    )
    expect(task.locator(".qf-card-heading")).to_have_text("A TITLE")
    expect(task.locator("crowd-alert[role=alert]")).to_contain_text("Mind the spelling.")
    expect(task.get_by_role("status").filter(has_text="Welcome back")).to_be_visible()
    task.get_by_role("button", name="Show the glossary").click()
    expect(task.locator("dialog[open]")).to_contain_text("Glossary: a word list.")
    page.keyboard.press("Escape")
    expect(task.locator("dialog[open]")).to_have_count(0)
    task.get_by_role("button", name=re.compile("View instructions")).click()
    dialog = task.locator("dialog[open]")
    expect(dialog).to_contain_text("Every detail matters.")
    expect(dialog).to_contain_text("A good answer.")
    expect(dialog).to_contain_text("A bad answer.")
    page.keyboard.press("Escape")
    task.get_by_role("button", name="Dismiss").click()
    expect(task.locator("crowd-alert")).to_have_count(0)
    task.get_by_label("Summary").fill("fine")
    task.get_by_role("button", name="Submit").click()
    assert submitted(page, job) == {"summary": "fine"}


def test_the_builtin_multilabel_task(page: "Page", make_job, labeler):
    job = make_job(
        items=1, task_type="text-classification-multilabel", labels=["news", "sport", "tech"]
    )
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")
    expect(page.locator("classification-target")).to_contain_text("text 0")
    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    assert Annotation.objects.get(job=job).answer == {"labels": ["news", "tech"]}


def test_ner_on_a_long_document_with_the_keyboard_only(
    page: "Page", make_job, manager, labeler, screenshot
):
    """100,000 characters, labeled without the mouse; offsets exact after astral characters."""
    job = make_job(
        items=0, start=False, task_type="text-entity-recognition", labels=["PER", "LOC", "ORG"]
    )
    words = []
    while sum(len(w) + 1 for w in words) < 100_000:
        words.extend(["lorem", "ipsum", "𝒳", "dolor", "sit", "amet,"])
    text = " ".join(words)[:99_970].rstrip() + " Ada Lovelace in London."
    assert 99_900 < len(text) <= 100_000
    import_lines(job, manager, [{"source": text}])
    job_start(job=job, by=manager)
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")
    document = page.locator(".qe-doc")
    expect(document).to_be_visible()
    chunks = page.locator(".qe-chunk").count()
    assert chunks >= 100_000 // 2_100  # chunks of 1,500–2,100 code points
    spans = page.evaluate("document.querySelectorAll('.qe-doc span').length")
    assert spans < 1000

    document.focus()
    page.keyboard.press("End")  # the final "."
    page.keyboard.press("ArrowLeft")  # London
    page.keyboard.press("2")
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # in, Lovelace, Ada
    page.keyboard.press("Shift+ArrowRight")  # Ada Lovelace
    expect(page.locator(".qe-status")).to_contain_text("Selected “Ada Lovelace”")
    page.keyboard.press("1")
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("3")  # "lorem ipsum" as ORG; the caret stays on "ipsum"
    expect(page.locator(".qe-list li")).to_have_count(3)
    page.keyboard.press("Delete")  # removes the ORG span at the caret
    expect(page.locator(".qe-list li")).to_have_count(2)
    timing = page.evaluate(
        """() => {
        const doc = document.querySelector('.qe-doc');
        const started = performance.now();
        for (let i = 0; i < 50; i += 1) {
          doc.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowLeft', bubbles: true}));
        }
        return (performance.now() - started) / 50;
    }"""
    )
    build_ms = page.evaluate(
        """() => {
        const text = document.querySelector('crowd-entity-annotation').getAttribute('text');
        const copy = document.createElement('crowd-entity-annotation');
        copy.setAttribute('text', text);
        copy.setAttribute('labels', '["A", "B"]');
        const started = performance.now();
        document.body.append(copy);
        copy.getBoundingClientRect();  // and its layout
        const took = performance.now() - started;
        copy.remove();
        return took;
    }"""
    )
    screenshot(page, "ner-long-document")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    answer = Annotation.objects.get(job=job).answer
    entities = answer["entities"]
    assert [(e["label"], text[e["startOffset"] : e["endOffset"]]) for e in entities] == [
        ("PER", "Ada Lovelace"),
        ("LOC", "London"),
    ]
    print(
        json.dumps(
            {"ner_100k_ms_per_caret_move": round(timing, 2), "ner_100k_build_ms": round(build_ms)}
        )
    )


def _drag_over(page: "Page", word: str) -> None:
    """Select ``word`` in the NER text with the mouse, as a person drags over it."""
    box = page.evaluate(
        """(word) => {
        const doc = document.querySelector('.qe-doc');
        const walker = document.createTreeWalker(doc, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const at = node.data.indexOf(word);
          if (at < 0) continue;
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + word.length);
          const rect = range.getBoundingClientRect();
          return {left: rect.left, right: rect.right, y: rect.top + rect.height / 2};
        }
        return null;
    }""",
        word,
    )
    assert box, f"{word!r} is not in the text"
    page.mouse.move(box["left"] + 1, box["y"])
    page.mouse.down()
    page.mouse.move(box["right"] - 1, box["y"], steps=5)
    page.mouse.up()


def test_ner_with_the_mouse_on_a_pre_tokenized_text(page: "Page", make_job, manager, labeler):
    job = make_job(
        items=0,
        start=False,
        task_type="text-entity-recognition-overlapping",
        labels=["PER", "LOC"],
    )
    text = "Mr. O'Neil lives in São Paulo 🇧🇷 now"
    # Pre-tokenized: "São Paulo" is one token, so a drag over "Paul" snaps to all of it.
    tokens = [[0, 3], [4, 10], [11, 16], [17, 19], [20, 29], [30, 32], [33, 36]]
    import_lines(job, manager, [{"source": text, "tokens": tokens}])
    job_start(job=job, by=manager)
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")
    expect(page.locator(".qe-doc")).to_contain_text("São Paulo")

    _drag_over(page, "Paul")
    expect(page.locator(".qe-status")).to_contain_text("Selected “São Paulo”")
    page.get_by_role("button", name="LOC").click()
    # Choose the label first, then drag: each drag labels at once.
    page.get_by_role("button", name="PER").click()
    _drag_over(page, "O'Neil")
    # Overlapping spans are allowed in this job: "Mr. O'Neil" over "O'Neil".
    page.keyboard.press("Escape")
    page.locator(".qe-doc").focus()
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    expect(page.locator(".qe-list li")).to_have_count(3)
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    entities = Annotation.objects.get(job=job).answer["entities"]
    assert [(e["label"], text[e["startOffset"] : e["endOffset"]]) for e in entities] == [
        ("PER", "Mr. O'Neil"),
        ("PER", "O'Neil"),
        ("LOC", "São Paulo"),
    ]
