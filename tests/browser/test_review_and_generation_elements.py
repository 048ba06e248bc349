"""The four newer elements, each filled in and submitted in Chromium from a template written
as the managed service documents it, and stored with the answer shape they document.

crowd-text-ranking and crowd-question-answer-generation (the generative-AI elements),
crowd-rekognition-detect-moderation-labels and crowd-textract-analyze-document (the review
service's), in the custom template's isolated frame.
"""

import json
from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation
from tests.task_types.helpers import write_image

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


def test_crowd_text_ranking(page: "Page", task, work_on):
    job = work_on(
        """<crowd-form>
  <crowd-text-ranking name="textRanking"
    ordinal-ranking-dimensions='[{"name":"Clarity","allowTie":true},{"name":"Inclusivity","allowTie":false}]'
    text="{{ task.input.prompt }}"
    responses="{{ task.input.responses | to_json }}">
    <short-instructions><p>Rank the answers.</p></short-instructions>
  </crowd-text-ranking>
</crowd-form>""",
        {"prompt": "Why a mirror?", "responses": ["Light reflects.", "Photons.", "Magic."]},
    )
    expect(task.locator(".qr-response")).to_have_count(3)
    task.locator(".crowd-form-submit").click()
    expect(task.locator(".crowd-form-message")).to_contain_text("Rank every response")
    ranks = {"Clarity": [1, 1, 3], "Inclusivity": [2, 2, 3]}
    for name, values in ranks.items():
        for index, rank in enumerate(values):
            task.get_by_label(f"Rank of response {index + 1} on {name}").select_option(str(rank))
    task.locator(".crowd-form-submit").click()
    expect(task.locator(".crowd-form-message")).to_contain_text("allows no ties")
    task.get_by_label("Rank of response 1 on Inclusivity").select_option("1")
    task.locator(".crowd-form-submit").click()
    assert submitted(page, job) == {
        "textRanking": {
            "ordinalRankingDimensions": [
                {"name": "Clarity", "allowTie": True, "ranks": [1, 1, 3]},
                {"name": "Inclusivity", "allowTie": False, "ranks": [1, 2, 3]},
            ]
        }
    }


def test_crowd_question_answer_generation(page: "Page", task, work_on):
    text = "The Amazon rainforest covers most of the Amazon basin of South America."
    job = work_on(
        """<crowd-form>
  <crowd-question-answer-generation name="questionAnswerGeneration"
    text="{{ task.input.source }}" min-questions="1" max-questions="2"
    question-min-words="3" question-max-words="20" answer-min-words="1" answer-max-words="10"
    question-tags='["geography", "size"]' allow-custom-question-tags="true">
    <short-instructions><p>Write questions the text answers.</p></short-instructions>
  </crowd-question-answer-generation>
</crowd-form>""",
        {"source": text},
    )
    pairs = task.locator(".qq-pair")
    expect(pairs).to_have_count(1)
    first = pairs.nth(0)
    first.get_by_label("Question").fill("Where?")
    task.locator(".crowd-form-submit").click()
    expect(task.locator(".crowd-form-message")).to_contain_text("Question 1 needs 3–20 words")
    first.get_by_label("Question").fill("Where is the forest?")
    # Select "South America" in the text and take it as the answer.
    task.evaluate(
        """() => {
            const node = document.querySelector('.qq-text').firstChild;
            const start = node.data.indexOf('South America');
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, start + 'South America'.length);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
        }"""
    )
    first.get_by_role("button", name="Use selection as the answer").click()
    first.get_by_label("geography").check()
    task.get_by_role("button", name="Add a question").click()
    second = pairs.nth(1)
    second.get_by_label("Question").fill("What does it cover?")
    second.get_by_label("Answer").fill("most of the basin")
    custom = second.locator(".qq-custom-tag")
    custom.fill("scope")
    custom.press("Enter")
    expect(task.get_by_role("button", name="Add a question")).to_be_disabled()  # max 2
    task.locator(".crowd-form-submit").click()
    start = text.index("South America")
    assert submitted(page, job) == {
        "questionAnswerGeneration": {
            "questionAnswerPairs": [
                {
                    "question": "Where is the forest?",
                    "answer": "South America",
                    "answerStart": start,
                    "answerEnd": start + len("South America"),
                    "tags": ["geography"],
                },
                {
                    "question": "What does it cover?",
                    "answer": "most of the basin",
                    "tags": ["scope"],
                },
            ]
        }
    }


MODERATION = """<crowd-form>
  <crowd-rekognition-detect-moderation-labels
    categories='[
      {% for label in task.input.selectedAiServiceResponse.moderationLabels %}
        {
          name: "{{ label.name }}",
          parentName: "{{ label.parentName }}",
        },
      {% endfor %}
    ]'
    src="{{ task.input.taskObject | grant_read_access }}"
    header="Review the image and choose all applicable categories."
    exclusion-category='{ "text": "None of these" }'
  >
    <short-instructions header="Instructions"><p>Choose all that apply.</p></short-instructions>
    <full-instructions header="Instructions"></full-instructions>
  </crowd-rekognition-detect-moderation-labels>
</crowd-form>"""

MODERATION_LINE = {
    "source-ref": "photo.png",
    "selectedAiServiceResponse": {
        "moderationLabels": [
            {"name": "Gore", "parentName": "Violence", "confidence": 71.2},
            {"name": "Corpses", "parentName": "Violence", "confidence": 64.0},
            {"name": "Weapons", "parentName": "Violence", "confidence": 55.5},
        ]
    },
}


def test_crowd_rekognition_detect_moderation_labels(page: "Page", task, work_on, settings):
    write_image(settings.MEDIA_ROOT, "photo.png", size=(60, 40))
    job = work_on(MODERATION, MODERATION_LINE)
    expect(task.locator(".qc-choice")).to_have_count(4)
    expect(task.locator("crowd-rekognition-detect-moderation-labels img")).to_have_js_property(
        "naturalWidth", 60
    )
    page.keyboard.press("1")
    task.get_by_role("button", name="Weapons (Violence)").click()
    task.locator(".crowd-form-submit").click()
    assert submitted(page, job) == {
        "AWS/Rekognition/DetectModerationLabels/Image/V3": {
            "ModerationLabels": [
                {"name": "Gore", "parentName": "Violence"},
                {"name": "Weapons", "parentName": "Violence"},
            ]
        }
    }


def test_moderation_exclusion_category_submits_no_labels(page: "Page", task, work_on, settings):
    write_image(settings.MEDIA_ROOT, "photo.png", size=(60, 40))
    job = work_on(MODERATION, MODERATION_LINE)
    task.get_by_role("button", name="Gore (Violence)").click()
    task.get_by_role("button", name="None of these").click()
    expect(task.get_by_role("button", name="Gore (Violence)")).to_be_disabled()
    task.locator(".crowd-form-submit").click()
    assert submitted(page, job) == {
        "AWS/Rekognition/DetectModerationLabels/Image/V3": {"ModerationLabels": []}
    }


TEXTRACT = """{% capture s3_uri %}s3://{{ task.input.aiServiceRequest.document.s3Object.bucket }}/\
{{ task.input.aiServiceRequest.document.s3Object.name }}{% endcapture %}
<crowd-form>
  <crowd-textract-analyze-document
    src="{{ s3_uri | grant_read_access }}"
    initial-value="{{ task.input.selectedAiServiceResponse.blocks }}"
    header="Review the key-value pairs listed on the right and correct them if they don't \
match the following document."
    no-key-edit
    no-geometry-edit
    keys="{{ task.input.humanLoopContext.importantFormKeys }}"
    block-types="['KEY_VALUE_SET']"
  >
    <short-instructions header="Instructions"><p>Correct the values.</p></short-instructions>
    <full-instructions header="Instructions"></full-instructions>
  </crowd-textract-analyze-document>
</crowd-form>"""


def box(left, top):
    return {"boundingBox": {"width": 0.2, "height": 0.05, "left": left, "top": top}}


def test_crowd_textract_analyze_document(page: "Page", task, work_on, settings):
    (settings.MEDIA_ROOT / "docs").mkdir(parents=True, exist_ok=True)
    write_image(settings.MEDIA_ROOT / "docs", "form.png", size=(200, 260))
    blocks = [
        {
            "blockType": "KEY_VALUE_SET",
            "confidence": 38.4,
            "geometry": box(0.1, 0.1),
            "id": "k-name",
            "relationships": [{"type": "VALUE", "ids": ["v-name"]}],
            "entityTypes": ["KEY"],
            "text": "Name:",
        },
        {
            "blockType": "KEY_VALUE_SET",
            "confidence": 38.4,
            "geometry": box(0.4, 0.1),
            "id": "v-name",
            "entityTypes": ["VALUE"],
            "text": "Ana Silva Carolna",
        },
    ]
    job = work_on(
        TEXTRACT,
        {
            "aiServiceRequest": {"document": {"s3Object": {"bucket": "docs", "name": "form.png"}}},
            "selectedAiServiceResponse": {"blocks": blocks},
            "humanLoopContext": {
                "importantFormKeys": [
                    {"importantFormKey": "Name", "importantFormKeyAliases": ["Full name"]},
                    {"importantFormKey": "Address", "importantFormKeyAliases": ["Addr."]},
                ]
            },
        },
    )
    expect(task.locator(".qv-box")).to_have_count(2)
    key = task.get_by_label("Key 1")
    expect(key).to_have_value("Name:")
    expect(key).to_have_js_property("readOnly", True)  # no-key-edit
    task.get_by_label("Value of Name:").fill("Ana Silva Carolina")
    task.get_by_role("button", name="Add “Address”").click()
    task.get_by_label("Value of Address").fill("123 Any Street")
    task.locator(".crowd-form-submit").click()
    answer = submitted(page, job)
    out = answer["AWS/Textract/AnalyzeDocument/Forms/V1"]["blocks"]
    assert out[0] == blocks[0]
    assert out[1] == {**blocks[1], "text": "Ana Silva Carolina"}
    added_key, added_value = out[2], out[3]
    assert added_key["entityTypes"] == ["KEY"] and added_key["text"] == "Address"
    assert added_key["relationships"] == [{"type": "VALUE", "ids": [added_value["id"]]}]
    assert added_value["entityTypes"] == ["VALUE"] and added_value["text"] == "123 Any Street"
    assert json.dumps(answer)  # stored as JSON, as submitted
