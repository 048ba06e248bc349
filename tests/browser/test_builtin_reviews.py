"""The built-in document key-value and image moderation reviews driven end to end in
Chromium: flows made by CreateFlowDefinition with the AWS-managed request source (and by the
REST API), loops started with boto3's ``sagemaker-a2i-runtime`` against the live server, a
reviewer working the task in the portal, and the loop's output read back through
DescribeHumanLoop's OutputS3Uri in the documented shape."""

import json
import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from PIL import Image

from labeling.data.storage import storage_read
from tests.browser.test_review_loops import sign_in
from tests.conftest import client_for
from tests.control_plane.conftest import REGION, sagemaker_client
from tests.workflows.builtin_inputs import moderation_input, pair, textract_input
from tests.workflows.test_a2i_boto3 import a2i_client
from workflows.models import Flow
from workflows.services.access_keys import access_key_create

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
pytest.importorskip("boto3", reason="the runtime API tests need boto3")
expect = sync_api.expect
pytestmark = pytest.mark.browser
FORMS = "AWS/Textract/AnalyzeDocument/Forms/V1"
MODERATION = "AWS/Rekognition/DetectModerationLabels/Image/V3"
ARN = f"arn:aws:sagemaker:{REGION}:123456789012"
UI = "<crowd-form><crowd-input name='x'></crowd-input></crowd-form>"


def picture(bucket: str, name: str, size=(600, 400)) -> None:
    path = Path(settings.MEDIA_ROOT) / bucket / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "#f4f1ea").save(path, format="PNG")


@pytest.fixture
def clients(live_server, manager):
    key = access_key_create(user=manager)
    return (
        sagemaker_client(live_server, key.access_key_id, key.secret_access_key),
        a2i_client(live_server, key.access_key_id, key.secret_access_key),
    )


def flow_definition(sagemaker, name: str, team, source: str, conditions: list) -> None:
    sagemaker.create_flow_definition(
        FlowDefinitionName=name,
        HumanLoopRequestSource={"AwsManagedHumanLoopRequestSource": source},
        HumanLoopActivationConfig={
            "HumanLoopActivationConditionsConfig": {
                "HumanLoopActivationConditions": json.dumps({"Conditions": conditions})
            }
        },
        HumanLoopConfig={
            "WorkteamArn": f"{ARN}:workteam/private-crowd/{team.name}",
            "HumanTaskUiArn": f"{ARN}:human-task-ui/any-ui",
            "TaskTitle": name,
            "TaskDescription": f"Review {name}",
            "TaskCount": 1,
        },
        OutputConfig={"S3OutputPath": "s3://out/loops"},
        RoleArn="arn:aws:iam::123456789012:role/A2I",
    )


def output_of(a2i, loop: str) -> dict:
    described = a2i.describe_human_loop(HumanLoopName=loop)
    assert described["HumanLoopStatus"] == "Completed"
    uri = described["HumanLoopOutput"]["OutputS3Uri"]
    assert re.fullmatch(rf"s3://out/loops/[a-z-]+/(\d+/){{6}}{loop}/output\.json", uri), uri
    return json.loads(storage_read(uri))


def drag(page: "Page", start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def test_a_reviewer_corrects_a_document_in_chromium(page, clients, team, labeler, screenshot):
    sagemaker, a2i = clients
    sagemaker.create_human_task_ui(HumanTaskUiName="any-ui", UiTemplate={"Content": UI})
    flow_definition(
        sagemaker,
        "invoices",
        team,
        FORMS,
        [
            {
                "ConditionType": "ImportantFormKeyConfidenceCheck",
                "ConditionParameters": {
                    "ImportantFormKey": "Total",
                    "KeyValueBlockConfidenceLessThan": 90,
                },
            },
            {
                "ConditionType": "MissingImportantFormKey",
                "ConditionParameters": {"ImportantFormKey": "Invoice number"},
            },
        ],
    )
    picture("docs", "invoice.png")
    document = textract_input(
        pair(1, "Total:", "12.00", 95.0, 61.0),
        pair(2, "Date", "2024-01-02", 99.0, 99.0),
        pair(3, "Page", "1 of 2", 92.0, 93.0),
    )
    started = a2i.start_human_loop(
        HumanLoopName="invoice-1",
        FlowDefinitionArn=f"{ARN}:flow-definition/invoices",
        HumanLoopInput={"InputContent": json.dumps(document)},
    )
    assert started["HumanLoopArn"].endswith(":human-loop/invoice-1")

    sign_in(page, "lab1", "lab1-pass-1")
    page.get_by_role("link", name="review-loops/invoices").click()
    rows = page.locator(".qv-pair")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_class(re.compile(r"qv-low"))  # 61 % < 90 %: highlighted
    expect(rows.nth(1)).not_to_have_class(re.compile(r"qv-low"))
    expect(page.locator(".qv-frame img")).to_be_visible()

    # Correct a value.
    rows.nth(0).locator(".qv-value").fill("12.50")
    # Move the date's value box with the mouse, and nudge it with the keyboard.
    box = page.locator(".qv-box-value").nth(1)
    before = box.bounding_box()
    frame = page.locator(".qv-frame").bounding_box()
    center = (before["x"] + before["width"] / 2, before["y"] + before["height"] / 2)
    drag(page, center, (center[0] + frame["width"] * 0.10, center[1]))
    box.focus()
    page.keyboard.press("ArrowDown")
    # Delete a pair that is not a form field: from its box, with the keyboard.
    page.get_by_role("button", name="Box of key Page", exact=False).focus()
    page.keyboard.press("Delete")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("button", name="Delete the pair Page")).to_have_count(0)
    # Add the missing important key: draw its value's box, type the value.
    page.get_by_role("button", name="Add “Invoice number”").click()
    expect(page.locator(".qv-status")).to_contain_text("Drag on the page")
    drag(
        page,
        (frame["x"] + frame["width"] * 0.40, frame["y"] + frame["height"] * 0.50),
        (frame["x"] + frame["width"] * 0.60, frame["y"] + frame["height"] * 0.56),
    )
    expect(rows).to_have_count(3)
    rows.nth(2).locator(".qv-value").fill("A-7")
    screenshot(page, "document-review")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#done-count")).to_have_text("1")

    output = output_of(a2i, "invoice-1")
    assert output["awsManagedHumanLoopRequestSource"] == FORMS
    assert output["inputContent"] == document
    blocks = output["humanAnswers"][0]["answerContent"][FORMS]["blocks"]
    by_id = {b["id"]: b for b in blocks}
    keys = [b for b in blocks if b["entityTypes"] == ["KEY"]]
    assert all(b["blockType"] == "KEY_VALUE_SET" for b in blocks)

    def value_of(key_block):
        return by_id[key_block["relationships"][0]["ids"][0]]

    total, date, added = keys
    assert value_of(total)["text"] == "12.50"
    moved = value_of(date)["geometry"]["boundingBox"]
    assert moved["left"] == pytest.approx(0.40 + 0.10, abs=0.02)
    assert moved["top"] == pytest.approx(0.20 + 0.01, abs=0.005)
    assert moved["width"] == pytest.approx(0.2, abs=1e-6)
    assert added["text"] == "Invoice number" and value_of(added)["text"] == "A-7"
    drawn = value_of(added)["geometry"]["boundingBox"]
    assert drawn["left"] == pytest.approx(0.40, abs=0.01)
    assert drawn["width"] == pytest.approx(0.20, abs=0.01)
    assert drawn["height"] == pytest.approx(0.06, abs=0.01)
    pairs = {p["key"]: p["value"] for p in output["consolidatedAnswer"]["pairs"]}
    assert pairs == {"Total:": "12.50", "Date": "2024-01-02", "Invoice number": "A-7"}


def test_a_reviewer_confirms_and_changes_moderation_labels_in_chromium(
    page, clients, manager, team, labeler, screenshot
):
    _, a2i = clients
    created = client_for(manager).post(
        "/api/v1/flows",
        {
            "name": "images",
            "team": team.pk,
            "task_type": "image-moderation-review",
            "conditions": {
                "moderation_label_confidence": {"label": "*", "at_least": 0.5, "below": 0.9}
            },
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    picture("pics", "a.jpg")
    arn = f"{ARN}:flow-definition/images"
    confident = moderation_input(("Violence", "", 99.0))
    quiet = a2i.start_human_loop(
        HumanLoopName="image-0",
        FlowDefinitionArn=arn,
        HumanLoopInput={"InputContent": json.dumps(confident)},
    )
    assert "HumanLoopArn" not in quiet
    unsure = moderation_input(("Violence", "", 97.0), ("Weapons", "Violence", 55.0))
    a2i.start_human_loop(
        HumanLoopName="image-1",
        FlowDefinitionArn=arn,
        HumanLoopInput={"InputContent": json.dumps(unsure)},
    )

    sign_in(page, "lab1", "lab1-pass-1")
    page.get_by_role("link", name="review-loops/images").click()
    choices = page.locator("crowd-rekognition-detect-moderation-labels .qc-choice")
    expect(choices.nth(0)).to_contain_text("Violence")
    expect(choices.nth(0)).to_contain_text("97%")
    expect(choices.nth(1)).to_contain_text("Weapons (Violence)")
    expect(choices.nth(1)).to_have_class(re.compile(r"qv-flagged"))
    for index in (0, 1):
        expect(choices.nth(index)).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("2")  # Weapons is wrong
    expect(choices.nth(1)).to_have_attribute("aria-pressed", "false")
    page.locator(".qc-choice", has_text="Gambling").click()  # missing
    screenshot(page, "moderation-review")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")

    flow = Flow.objects.get(name="images")
    assert flow.job.task_type == "image-moderation-review"
    described = a2i.describe_human_loop(HumanLoopName="image-1")
    assert described["HumanLoopStatus"] == "Completed"
    with urllib.request.urlopen(described["HumanLoopOutput"]["OutputS3Uri"]) as response:
        output = json.loads(response.read())
    assert output["awsManagedHumanLoopRequestSource"] == MODERATION
    assert output["inputContent"] == unsure
    chosen = [
        {"name": "Violence", "parentName": ""},
        {"name": "Gambling", "parentName": ""},
    ]
    assert output["humanAnswers"][0]["answerContent"] == {MODERATION: {"moderationLabels": chosen}}
    assert output["consolidatedAnswer"]["answerContent"] == {
        MODERATION: {"moderationLabels": chosen}
    }
    assert output["consolidatedAnswer"]["confidence"] == 1.0
