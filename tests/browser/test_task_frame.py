"""Custom templates that carry their own scripts, in the isolated task frame, in Chromium.

The templates are written as the managed service's documentation shows them: inline
scripts that rebuild labels, check the answer in `onsubmit`, fill hidden inputs and wait for
`all-crowd-elements-ready`. Each runs in the work page's sandboxed frame and stores the
documented answer; none can read Quorum's cookies or call its API.
"""

from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation, Assignment

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


SCRIPTED = """<crowd-form>
  <crowd-classifier name="sentiment" categories="['placeholder']" header="Tone?">
    <classification-target>{{ task.input.source }}</classification-target>
  </crowd-classifier>
  <input type="hidden" name="checkedAt" id="checked-at">
  <crowd-input name="reason" label="Why?"></crowd-input>
  <p id="status">waiting</p>
</crowd-form>
<script>
  document.addEventListener('all-crowd-elements-ready', function () {
    document.querySelector('crowd-classifier').categories = ['Positive', 'Negative'];
    document.getElementById('status').textContent = 'ready';
  });
  document.querySelector('crowd-form').onsubmit = function (event) {
    var reason = document.querySelector('crowd-input').value;
    if (!reason || reason.length < 3) {
      document.getElementById('status').textContent = 'Write a longer reason.';
      event.preventDefault();
      return;
    }
    document.getElementById('checked-at').value = 'script-' + reason.length;
  };
</script>
"""


def test_a_template_script_rebuilds_labels_validates_and_fills_hidden_inputs(
    page: "Page", task, work_on
):
    job = work_on(SCRIPTED, {"source": "I love it"})
    expect(task.locator("#status")).to_have_text("ready")
    expect(task.get_by_role("button", name="Negative")).to_be_visible()
    expect(task.get_by_role("button", name="placeholder")).to_have_count(0)
    task.get_by_role("button", name="Positive").click()
    task.locator("crowd-input input").fill("ok")
    task.locator(".crowd-form-submit").click()
    expect(task.locator("#status")).to_have_text("Write a longer reason.")
    assert not Annotation.objects.filter(job=job).exists()
    task.locator("crowd-input input").fill("it says love")
    task.locator(".crowd-form-submit").click()
    assert submitted(page, job) == {
        "sentiment": {"label": "Positive"},
        "checkedAt": "script-12",
        "reason": "it says love",
    }


SNOOP = """<crowd-form>
  <crowd-input name="note" label="Note"></crowd-input>
</crowd-form>
<p id="cookie">?</p><p id="api">?</p><p id="parent">?</p>
<script>
  try { document.getElementById('cookie').textContent = 'read: ' + document.cookie; }
  catch (error) { document.getElementById('cookie').textContent = 'refused: ' + error.name; }
  try { document.getElementById('parent').textContent = 'read: ' + window.parent.document.cookie; }
  catch (error) { document.getElementById('parent').textContent = 'refused: ' + error.name; }
  var api = document.getElementById('api');
  fetch('/api/v1/jobs', {credentials: 'include'}).then(
    function (response) { api.textContent = 'answered ' + response.status; },
    function (error) { api.textContent = 'refused: ' + error.name; });
</script>
"""


def test_a_template_script_reads_no_cookie_and_cannot_call_the_api(page: "Page", task, work_on):
    api_calls: list[str] = []
    page.on(
        "request",
        lambda request: (
            api_calls.append(request.url) if request.url.endswith("/api/v1/jobs") else None
        ),
    )
    job = work_on(SNOOP, {"source": "x"})
    # The page itself has its session and CSRF cookies; the frame sees neither.
    assert "sessionid" in {cookie["name"] for cookie in page.context.cookies()}
    expect(task.locator("#cookie")).to_have_text("refused: SecurityError")
    expect(task.locator("#parent")).to_have_text("refused: SecurityError")
    expect(task.locator("#api")).to_have_text("refused: TypeError")
    assert task.evaluate("origin") == "null"
    # The frame's fetch was stopped by its policy before it left the browser.
    assert api_calls == []
    # Its own answer still goes through the page, for this lease only.
    task.locator("crowd-input input").fill("fine")
    task.locator(".crowd-form-submit").click()
    assert submitted(page, job) == {"note": "fine"}


def test_entity_annotation_without_a_form_submits_and_reads_javascript_style_labels(
    page: "Page", task, work_on
):
    job = work_on(
        """<crowd-entity-annotation name="crowd-entity-annotation" header="Mark the people"
    labels="[{label: 'person', shortDisplayName: 'per', longDisplayName: 'A person'},
             {label: 'place', shortDisplayName: 'loc', longDisplayName: 'A place'},]"
    text="{{ task.input.source }}">
  <short-instructions>Mark every person.</short-instructions>
</crowd-entity-annotation>""",
        {"source": "Ada met Alan"},
    )
    # The element brought its own form (and so its Submit): Quorum's buttons are there.
    expect(task.locator("crowd-form > crowd-entity-annotation")).to_have_count(1)
    expect(task.locator(".qe-label")).to_have_count(2)
    text = task.locator(".qe-doc")
    text.focus()
    page.keyboard.press("1")  # the caret's first token, "Ada"
    task.locator(".crowd-form-submit").click()
    assert submitted(page, job) == {
        "crowd-entity-annotation": {
            "entities": [{"label": "person", "startOffset": 0, "endOffset": 3}]
        }
    }


def test_instructions_in_the_form_go_to_its_panel_and_its_own_submit_replaces_quorums(
    page: "Page", task, work_on
):
    job = work_on(
        """<crowd-form>
  <short-instructions>Read the review first.</short-instructions>
  <full-instructions header="The whole story"><p>Long rules.</p></full-instructions>
  <crowd-text-area name="summary" label="Summary"></crowd-text-area>
  <crowd-button form-action="submit" variant="primary">Send it</crowd-button>
</crowd-form>""",
        {"source": "x"},
    )
    panel = task.locator("aside.crowd-form-instructions")
    expect(panel).to_contain_text("Read the review first.")
    expect(task.locator(".crowd-form-submit")).to_have_count(0)
    page.keyboard.press("i")
    expect(task.locator("dialog[open]")).to_contain_text("Long rules.")
    page.keyboard.press("Escape")
    task.locator("crowd-text-area textarea").fill("fine")
    task.get_by_role("button", name="Send it").click()
    assert submitted(page, job) == {"summary": "fine"}


CHANNEL = """<crowd-form><crowd-input name="note" label="Note"></crowd-input></crowd-form>
<p id="lease">?</p><p id="forged">?</p>
<button type="button" id="give-back">Give it back</button>
<script>
  document.addEventListener('quorum:lease', function (event) {
    document.getElementById('lease').textContent = event.detail.expiresAt ? 'known' : 'none';
  });
  window.addEventListener('message', function (event) {
    var data = event.data || {};
    if (data.action === 'result' && data.id === 777) {
      document.getElementById('forged').textContent = data.code;
    }
  });
  // A message the page must refuse: an answer that is no object.
  parent.postMessage({quorum: 'task-frame', action: 'submit', id: 777, answer: 'x'}, '*');
  document.getElementById('give-back').onclick = function () {
    document.querySelector('crowd-form').release();
  };
</script>
"""


def test_the_channel_carries_the_lease_refuses_bad_shapes_and_releases(page: "Page", task, work_on):
    job = work_on(CHANNEL, {"source": "x"})
    expect(task.locator("#lease")).to_have_text("known")
    expect(task.locator("#forged")).to_have_text("bad_answer")
    assert not Annotation.objects.filter(job=job).exists()
    first_frame = page.locator("iframe.task-frame").get_attribute("src")
    task.locator("#give-back").click()
    # Given back: the same item comes round again, in a new frame with a new URL.
    expect(page.locator("iframe.task-frame")).not_to_have_attribute("src", first_frame)
    assert Assignment.objects.filter(job=job, status="released").count() == 1
    expect(task.locator("#lease")).to_have_text("known")
    page.keyboard.press("s")  # S skips, through the page
    expect(page.locator("#work-status")).to_contain_text("Nothing is left")
    assert Assignment.objects.filter(job=job, status="skipped").count() == 1
