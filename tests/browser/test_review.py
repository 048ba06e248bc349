"""Issue 14 in headless Chromium: the item page with three workers' boxes, a review that fixes
a box, a rejection that sends an item back, a comment a labeler then sees, and a labeler who
revises an answer."""

import re
from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation, ConsolidatedLabel, Item, ItemEvent
from labeling.review.services.reviews import job_review_configure, team_reviewer_set
from tests.browser.test_image_annotation import screen_point
from tests.browser.test_labeling_flow import sign_in
from tests.task_types.helpers import image_job, work, write_image

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def boxes(*rows):
    return {
        "annotatedResult": {
            "boundingBoxes": [
                {"label": label, "left": x, "top": y, "width": w, "height": h}
                for label, x, y, w, h in rows
            ],
            "inputImageProperties": {"width": 320, "height": 200},
        }
    }


@pytest.fixture
def box_job(settings, manager, team):
    for name in ("a.png", "b.png"):
        write_image(settings.MEDIA_ROOT, name)
    return image_job(
        manager,
        team,
        task_type="image-bounding-box",
        labels=["car", "person"],
        lines=[{"source-ref": "a.png"}, {"source-ref": "b.png"}],
        workers=3,
    )


def test_the_item_page_draws_three_workers_boxes_with_a_toggle_each(
    page: "Page", box_job, make_labeler, screenshot
):
    workers = [make_labeler(name) for name in ("w1", "w2", "w3")]
    work(
        box_job,
        workers,
        [
            [boxes(("car", 10, 10, 100, 80)), boxes(("car", 5, 5, 50, 50))],
            [boxes(("car", 14, 12, 98, 80)), boxes(("car", 5, 5, 50, 50))],
            [boxes(("car", 12, 8, 100, 84), ("person", 200, 50, 40, 100)), boxes()],
        ],
    )
    first, second = Item.objects.filter(job=box_job).order_by("id")
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{box_job.pk}/items/{first.pk}")
    expect(page.get_by_role("heading", name=f"Item #{first.pk}")).to_be_visible()
    layers = page.locator("#item-viewer svg g[data-worker-name]")
    expect(layers).to_have_count(3)
    strokes = {layers.nth(i).locator("rect").first.get_attribute("stroke") for i in range(3)}
    assert len(strokes) == 3  # a distinct colour per worker
    assert [layers.nth(i).locator("rect").count() for i in range(3)] == [1, 1, 2]
    expect(page.locator("#answer-list")).to_contain_text("w3")
    screenshot(page, "item-page-boxes")
    page.get_by_label("w2").uncheck()
    expect(page.locator('#item-viewer g[data-worker-name="w2"]')).to_be_hidden()
    expect(page.locator('#item-viewer g[data-worker-name="w1"]')).to_be_visible()
    expect(page.locator("#history")).to_contain_text("consolidated")
    # The consolidated label in the task type's own element, read-only.
    page.wait_for_selector("#task-host[data-ready] crowd-bounding-box")
    assert page.evaluate("document.querySelector('#task-host').inert")
    assert (
        page.evaluate("document.querySelector('#task-host crowd-bounding-box').boxes.length") == 1
    )
    page.locator("h1").click()  # keys are not taken from a focused checkbox
    page.wait_for_selector("#item-viewer[data-ready]")
    page.keyboard.press("j")  # the next item of the filter
    expect(page).to_have_url(re.compile(rf"/items/{second.pk}$"))
    page.wait_for_selector("#item-viewer[data-ready]")  # its keys are listened to
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(rf"/items/{first.pk}$"))


def test_a_reviewer_fixes_a_box_with_the_labelers_tool(
    page: "Page", settings, manager, team, make_labeler, screenshot
):
    write_image(settings.MEDIA_ROOT, "street.png", size=(320, 200))
    job = image_job(
        manager, team, task_type="image-bounding-box", labels=["car", "person"],
        lines=[{"source-ref": "street.png"}],
    )  # fmt: skip
    job_review_configure(job=job, mode="all")
    work(job, [make_labeler("w1")], [[boxes(("car", 20, 30, 100, 60))]])
    reviewer = make_labeler("rev")
    team_reviewer_set(job=job, user_id=reviewer.pk, reviewer=True)

    sign_in(page, "rev", "rev-pass-1")
    page.goto(f"/work/jobs/{job.pk}/review")
    element = "crowd-bounding-box"
    page.wait_for_selector(f"{element}[data-ready]")
    assert page.evaluate(f"document.querySelector('{element}').boxes.length") == 1
    page.mouse.click(*screen_point(page, element, 70, 60))  # select the box
    page.keyboard.press("Shift+ArrowRight")  # 10 px right
    page.keyboard.press("Shift+ArrowRight")
    screenshot(page, "review-fix-box")
    page.keyboard.press("Enter")
    expect(page.locator("#editor-status")).to_contain_text("Fixed")
    expect(page.locator("#review-empty")).to_be_visible()
    label = ConsolidatedLabel.objects.get(item__job=job)
    assert (label.review_status, label.method, label.reviewed_by) == ("fixed", "review", reviewer)
    (box,) = label.value["boxes"]
    assert abs(box["left"] - 40) <= 2 and (box["top"], box["width"]) == (30, 100)
    event = ItemEvent.objects.get(item__job=job, kind="review_fixed")
    assert event.data["before"]["value"]["boxes"][0]["left"] == 20


def test_a_rejection_sends_the_item_back_to_its_worker_who_sees_why(
    page: "Page", make_job, manager, labeler
):
    job = make_job(items=2, workers_per_item=1)
    job_review_configure(job=job, mode="all")
    work(job, [labeler], [[{"label": "cat"}, {"label": "cat"}]])
    first, item = Item.objects.filter(job=job).order_by("id")

    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/review")
    expect(page.locator("#review-queue")).to_contain_text(f"#{item.pk}")
    page.locator("#start-review").click()
    page.wait_for_selector("crowd-classifier .qc-choice[aria-pressed='true']")
    page.keyboard.press("Enter")  # the first item: accepted as shown
    expect(page.locator("#editor-status")).to_contain_text("Accepted")
    expect(page.locator("#review-item")).to_contain_text(f"Item #{item.pk}")
    assert ConsolidatedLabel.objects.get(item=first).review_status == "accepted"
    page.wait_for_selector("crowd-classifier .qc-choice[aria-pressed='true']")
    page.get_by_label("Reject because").fill("this is a dog, not a cat")
    page.get_by_label("Send the item").select_option("rework")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#editor-status")).to_contain_text("Rejected")
    expect(page.locator("#review-empty")).to_be_visible()
    item.refresh_from_db()
    assert item.status == "open" and not ConsolidatedLabel.objects.filter(item=item).exists()

    page.context.clear_cookies()
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/answers")
    row = page.locator(f"#answer-{Annotation.objects.get(item=item).pk}")
    expect(row.locator(".rework-reason")).to_have_text("this is a dog, not a cat")
    row.get_by_role("link", name="Revise").click()
    expect(page.locator("#rework-reason")).to_contain_text("this is a dog")
    page.wait_for_selector("crowd-classifier .qc-choice")
    page.keyboard.press("2")  # dog
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/work/jobs/{job.pk}/answers$"))
    label = ConsolidatedLabel.objects.get(item=item)
    assert label.label == "dog" and label.review_status == "pending"  # reviewed again


def test_a_comment_with_a_mention_reaches_the_labeler_who_answered(
    page: "Page", make_job, manager, labeler
):
    job = make_job(items=1, workers_per_item=1)
    work(job, [labeler], [[{"label": "cat"}]])
    item = Item.objects.get(job=job)
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/items/{item.pk}")
    page.locator("#comment-body").fill("@lab1 are you sure this is a cat?")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator("#comment-list")).to_contain_text("mentions @lab1")

    page.context.clear_cookies()
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/answers")
    expect(
        page.locator(f"#answer-{Annotation.objects.get(item=item).pk} .item-comments")
    ).to_contain_text("are you sure this is a cat?")


def test_a_labeler_revises_an_answer_before_its_item_is_consolidated(
    page: "Page", make_job, manager, labeler
):
    job = make_job(items=1, workers_per_item=2)
    work(job, [labeler], [[{"label": "cat"}]])
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    page.get_by_role("link", name="My answers").click()
    expect(page.locator("#my-answers")).to_contain_text("collecting answers")
    page.get_by_role("link", name="Revise").click()
    page.wait_for_selector("crowd-classifier .qc-choice[aria-pressed='true']")
    page.keyboard.press("3")  # bird
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/work/jobs/{job.pk}/answers$"))
    expect(page.locator("#my-answers")).to_contain_text("(revised)")
    annotation = Annotation.objects.get(job=job)
    assert annotation.label == "bird" and annotation.revised_at is not None
    assert ItemEvent.objects.filter(item_id=annotation.item_id, kind="answer_revised").exists()
