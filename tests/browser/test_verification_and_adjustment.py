"""Issue 16 in headless Chromium: verification and adjustment of an earlier job's drawings.

A labeler approves earlier polygons with 1 and Enter; rejects earlier tracks with 2 and a
feedback (stepping through the clip in the read-only viewer first); corrects an earlier
mask with the brush, an earlier polygon by dragging a vertex, and an earlier track by moving
its box on a keyframe. Each answer is submitted and the stored answer (and its consolidated
label's adjustment status) checked.
"""

from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation, ConsolidatedLabel
from labeling.task_types.image_segmentation import load_label_map
from tests.browser.test_image_annotation import click, drag, open_task
from tests.task_types.helpers import image_job
from tests.task_types.test_verification_and_adjustment import (
    EARLIER_MASK,
    LABELS,
    VERDICTS,
    detection_line,
    keypoint_line,
    mask_line,
    polygon_line,
    tracking_line,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

EARLIER_PIXELS = 40 * 60  # the earlier mask's car rectangle


def submitted(page: "Page", job) -> dict:
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you", timeout=20_000)
    return Annotation.objects.get(job=job).answer


def test_a_labeler_approves_earlier_polygons_with_1_and_enter(
    page: "Page", settings, manager, team, labeler, screenshot
):
    job = image_job(
        manager, team, task_type="image-polygon-verification", labels=VERDICTS,
        lines=[polygon_line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    viewer = "crowd-polygon[readonly]"
    open_task(page, job, viewer)
    expect(page.locator("crowd-classifier .qc-choice")).to_have_count(2)
    status = page.locator("crowd-polygon .qa-status")
    expect(status).to_contain_text("1 polygon")  # the earlier one, drawn
    drag(page, viewer, (50, 40), (150, 140))  # a drag pans the view; it edits nothing
    screenshot(page, "verify-polygons")
    page.keyboard.press("1")
    expect(page.locator('crowd-classifier .qc-choice[aria-pressed="true"]')).to_contain_text(
        "Correct"
    )
    page.keyboard.press("Enter")
    assert submitted(page, job) == {"verification": {"label": "Correct"}, "feedback": ""}
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.label == "Correct" and label.value["feedback"] == []


def test_a_labeler_rejects_earlier_tracks_with_feedback(
    page: "Page", settings, manager, team, labeler
):
    job = image_job(
        manager, team, task_type="video-object-tracking-verification", labels=VERDICTS,
        lines=[tracking_line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    viewer = "crowd-video-object-tracking[readonly]"
    open_task(page, job, viewer)
    page.keyboard.press(".")  # the viewer still steps through the frames
    expect(page.locator(".qa-frame")).to_have_text("Frame 2 / 10")
    left = page.evaluate(f"document.querySelector('{viewer}').boxes[0].left")
    assert abs(left - 2) <= 0.5  # the earlier track, interpolated between its keyframes
    page.keyboard.press("2")
    page.locator("textarea[name=feedback]").fill("the car is lost after frame 5")
    page.locator("textarea[name=feedback]").blur()
    page.keyboard.press("Enter")
    assert submitted(page, job) == {
        "verification": {"label": "Incorrect"},
        "feedback": "the car is lost after frame 5",
    }
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.label == "Incorrect"
    assert label.value["feedback"] == ["the car is lost after frame 5"]


def test_a_labeler_corrects_an_earlier_mask_with_the_brush(
    page: "Page", settings, manager, team, labeler, screenshot
):
    job = image_job(
        manager, team, task_type="image-semantic-segmentation-adjustment", labels=LABELS,
        lines=[mask_line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    element = "crowd-semantic-segmentation"
    open_task(page, job, f"{element}[data-initial-loaded]")
    counts = page.evaluate(f"document.querySelector('{element}').counts()")
    assert counts[1] == EARLIER_PIXELS  # the earlier car, painted from its PNG
    page.keyboard.press("1")  # car
    page.keyboard.press("b")
    drag(page, element, (150, 150), (250, 150))  # a stroke away from the earlier region
    screenshot(page, "adjust-mask")
    page.keyboard.press("Enter")
    inner = submitted(page, job)["crowd-semantic-segmentation"]
    assert inner["pixels"]["car"] > EARLIER_PIXELS + 100 * 20
    index_map = load_label_map(inner["labeledImage"]["ref"])
    assert (index_map[EARLIER_MASK] == 1).all()  # the earlier region is kept
    assert index_map[150, 200] == 1 and index_map[100, 200] == 0
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.value["adjustment_status"] == "adjusted"


def test_a_labeler_corrects_an_earlier_polygon_by_moving_a_vertex(
    page: "Page", settings, manager, team, labeler
):
    job = image_job(
        manager, team, task_type="image-polygon-adjustment", labels=LABELS,
        lines=[polygon_line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    element = "crowd-polygon"
    open_task(page, job, element)
    expect(page.locator(".qa-status")).to_contain_text("1 polygon")
    click(page, element, 50, 30)  # select the earlier polygon…
    drag(page, element, (50, 80), (60, 120))  # …and drag its third vertex down
    page.keyboard.press("Enter")
    [polygon] = submitted(page, job)["annotatedResult"]["polygons"]
    assert polygon["label"] == "car"
    first, second, third = ((v["x"], v["y"]) for v in polygon["vertices"])
    assert (first, second) == ((10, 10), (90, 10))
    assert abs(third[0] - 60) <= 1.5 and abs(third[1] - 120) <= 1.5
    assert ConsolidatedLabel.objects.get(job=job).value["adjustment_status"] == "adjusted"


def test_a_labeler_corrects_an_earlier_track_on_a_keyframe(
    page: "Page", settings, manager, team, labeler
):
    job = image_job(
        manager, team, task_type="video-object-tracking-adjustment", labels=LABELS,
        lines=[tracking_line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    element = "crowd-video-object-tracking"
    open_task(page, job, element)
    drag(page, element, (10, 20), (10, 30))  # frame 1: the earlier box, 10 px down
    expect(page.locator(".qa-keyframes")).to_contain_text("keyframes at frames 1, 10")
    page.keyboard.press("Enter")
    [track] = submitted(page, job)["annotatedResult"]["tracks"]
    assert track["label"] == "car"
    assert [k["frame"] for k in track["keyframes"]] == [0, 9]
    first, last = track["keyframes"]
    assert abs(first["top"] - 20) <= 1 and first["left"] == 0
    assert (last["left"], last["top"]) == (18, 10)  # the other keyframe as it was
    assert ConsolidatedLabel.objects.get(job=job).value["adjustment_status"] == "adjusted"


# Every new type once more, in its own element: the earlier objects shown, then submitted.
EVERY = [
    ("image-polygon", polygon_line, "crowd-polygon", 1),
    ("image-keypoint", keypoint_line, "crowd-keypoint", 2),
    ("image-semantic-segmentation", mask_line, "crowd-semantic-segmentation", 1),
    ("video-object-detection", detection_line, "crowd-video-object-detection", 2),
    ("video-object-tracking", tracking_line, "crowd-video-object-tracking", 1),
]


def _ready(element: str) -> str:
    loaded = "[data-initial-loaded]" if element == "crowd-semantic-segmentation" else ""
    return f"{element}{loaded}"


def _shown(page: "Page", selector: str) -> int:
    return page.evaluate(f"document.querySelector('{selector}').listObjects().length")


@pytest.mark.parametrize(("base", "line", "element", "objects"), EVERY, ids=[e[0] for e in EVERY])
def test_every_verification_type_shows_the_earlier_label_and_takes_a_verdict(
    page: "Page", settings, manager, team, labeler, base, line, element, objects
):
    job = image_job(
        manager, team, task_type=f"{base}-verification", labels=VERDICTS,
        lines=[line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    viewer = f"{_ready(element)}[readonly]"
    open_task(page, job, viewer)
    assert _shown(page, viewer) == objects
    page.keyboard.press("Enter")  # no verdict yet: refused, nothing sent
    expect(page.locator("crowd-form")).to_contain_text("Choose a category first")
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    assert submitted(page, job) == {"verification": {"label": "Incorrect"}, "feedback": ""}


@pytest.mark.parametrize(("base", "line", "element", "objects"), EVERY, ids=[e[0] for e in EVERY])
def test_every_adjustment_type_submitted_as_it_came_is_unadjusted(
    page: "Page", settings, manager, team, labeler, base, line, element, objects
):
    job = image_job(
        manager, team, task_type=f"{base}-adjustment", labels=LABELS,
        lines=[line(settings.MEDIA_ROOT)],
    )  # fmt: skip
    open_task(page, job, _ready(element))
    assert _shown(page, element) == objects
    page.keyboard.press("Enter")
    submitted(page, job)
    label = ConsolidatedLabel.objects.get(job=job)
    assert label.value["adjustment_status"] == "unadjusted"
