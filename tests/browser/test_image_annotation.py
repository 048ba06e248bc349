"""Image annotation elements in headless Chromium: a labeler draws with mouse and keys,
submits, and the stored answer is what they drew."""

import base64
import io
import json
import re
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from labeling.models import Annotation
from tests.browser.test_labeling_flow import sign_in
from tests.task_types.helpers import image_job, write_image

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def open_task(page: "Page", job, selector: str) -> None:
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    page.wait_for_selector(f"{selector}[data-ready]")


def screen_point(page: "Page", selector: str, x: float, y: float) -> tuple[float, float]:
    """Where image pixel (x, y) is on the page right now."""
    return page.evaluate(
        """([selector, x, y]) => {
            const element = document.querySelector(selector);
            const rect = element.canvas.getBoundingClientRect();
            const point = element.toScreen(x, y);
            return [rect.left + point.x, rect.top + point.y];
        }""",
        [selector, x, y],
    )


def drag(page: "Page", selector: str, start, end) -> None:
    page.mouse.move(*screen_point(page, selector, *start))
    page.mouse.down()
    page.mouse.move(*screen_point(page, selector, *end), steps=5)
    page.mouse.up()


def test_a_labeler_drags_boxes_fixes_one_and_submits(
    page: "Page", settings, manager, team, labeler, screenshot
):
    write_image(settings.MEDIA_ROOT, "street.png", size=(640, 400))
    job = image_job(
        manager,
        team,
        task_type="image-bounding-box",
        labels=["car", "person"],
        lines=[{"source-ref": "street.png"}],
    )
    element = "crowd-bounding-box"
    open_task(page, job, element)

    page.keyboard.press("2")  # person
    drag(page, element, (100, 50), (180, 250))
    page.keyboard.press("1")  # car, for the next box: the person just drawn keeps its label
    page.keyboard.press("Escape")
    drag(page, element, (300, 200), (500, 300))
    drag(page, element, (20, 20), (60, 60))  # a stray box…
    page.keyboard.press("Delete")  # …removed while it is still selected
    # Move the car 10 px right with the keyboard, then drag its right edge 20 px further.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # selection wraps from the person to the car
    page.keyboard.press("Shift+ArrowRight")
    drag(page, element, (510, 250), (530, 250))
    page.keyboard.press("o")  # occluded
    expect(page.locator(".qa-status")).to_contain_text("2 boxes")
    screenshot(page, "bounding-box")

    # The first submit fails on the server: the boxes stay, and the second one goes through.
    failed: list[str] = []

    def fail_once(route) -> None:
        if failed:
            route.continue_()
        else:
            failed.append(route.request.url)
            route.fulfill(
                status=500,
                content_type="application/json",
                body='{"error": {"code": "server_error", "message": "boom", "details": {}}}',
            )

    page.route("**/api/v1/assignments/*/submit", fail_once)
    page.keyboard.press("Enter")
    expect(page.locator(".crowd-form-message")).to_contain_text("still here")
    assert page.evaluate("document.querySelector('crowd-bounding-box').boxes.length") == 2
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")

    answer = Annotation.objects.get(job=job).answer["annotatedResult"]
    assert answer["inputImageProperties"] == {"width": 640, "height": 400}
    stored = sorted(
        (b["label"], b["left"], b["top"], b["width"], b["height"], b.get("attributes", {}))
        for b in answer["boundingBoxes"]
    )
    (car, person) = stored
    assert car[0] == "car" and car[5] == {"occluded": True}
    assert abs(car[1] - 310) <= 2 and abs(car[2] - 200) <= 2
    assert abs(car[3] - 220) <= 2 and abs(car[4] - 100) <= 2
    assert person[0] == "person" and person[5] == {}
    assert abs(person[1] - 100) <= 2 and abs(person[2] - 50) <= 2
    assert abs(person[3] - 80) <= 2 and abs(person[4] - 200) <= 2


def test_multi_label_with_keys(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "pets.png")
    job = image_job(
        manager,
        team,
        task_type="image-classification-multilabel",
        labels=["cat", "dog", "bird"],
        lines=[{"source-ref": "pets.png"}],
    )
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    expect(page.locator("crowd-image-classifier-multi-select .qc-image img")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator(".crowd-form-message")).to_contain_text("at least one")
    for key in "132":
        page.keyboard.press(key)
    page.keyboard.press("2")  # dog off again
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    assert Annotation.objects.get(job=job).answer == {"categories": {"labels": ["cat", "bird"]}}


def test_verification_with_feedback(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "street.png")
    earlier = {
        "source-ref": "street.png",
        "boxes": {
            "annotations": [{"class_id": 0, "left": 10, "top": 20, "width": 90, "height": 60}]
        },
        "boxes-metadata": {"type": "groundtruth/object-detection", "class-map": {"0": "car"}},
    }
    job = image_job(
        manager,
        team,
        task_type="image-label-verification",
        labels=["Correct", "Incorrect"],
        lines=[earlier],
    )
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    expect(page.locator("crowd-image-classifier .qc-image-overlay")).to_be_attached()
    expect(page.locator(".qc-image-overlay")).to_have_js_property("width", 320)
    page.keyboard.press("2")
    page.get_by_label("Feedback (optional)").fill("the box cuts the wheel")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    assert Annotation.objects.get(job=job).answer == {
        "verification": {"label": "Incorrect"},
        "feedback": "the box cuts the wheel",
    }


def click(page: "Page", selector: str, x: float, y: float) -> None:
    page.mouse.click(*screen_point(page, selector, x, y))


def test_a_labeler_clicks_a_polygon_closed(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "house.png", size=(640, 400))
    job = image_job(
        manager,
        team,
        task_type="image-polygon",
        labels=["roof", "door"],
        lines=[{"source-ref": "house.png"}],
    )
    element = "crowd-polygon"
    open_task(page, job, element)
    page.keyboard.press("2")
    for x, y in [(100, 100), (300, 100), (300, 300), (100, 300)]:
        click(page, element, x, y)
    page.keyboard.press("Enter")  # refused while the polygon is open: Enter closes it instead
    expect(page.locator(".qa-status")).to_contain_text("1 polygon")
    # A second one, closed by clicking its first point: 1 is the next polygon's label (the
    # door just closed keeps its own).
    page.keyboard.press("1")
    for x, y in [(400, 50), (600, 50), (500, 200)]:
        click(page, element, x, y)
    click(page, element, 400, 50)
    expect(page.locator(".qa-status")).to_contain_text("2 polygons")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    polygons = Annotation.objects.get(job=job).answer["annotatedResult"]["polygons"]
    assert [p["label"] for p in polygons] == ["door", "roof"]
    first = [(round(v["x"]), round(v["y"])) for v in polygons[0]["vertices"]]
    assert all(
        abs(x - ex) <= 2 and abs(y - ey) <= 2
        for (x, y), (ex, ey) in zip(
            first, [(100, 100), (300, 100), (300, 300), (100, 300)], strict=True
        )
    )
    assert len(polygons[1]["vertices"]) == 3


def test_a_labeler_places_and_moves_keypoints(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "face.png", size=(640, 400))
    job = image_job(
        manager,
        team,
        task_type="image-keypoint",
        labels=["left-eye", "right-eye", "nose"],
        lines=[{"source-ref": "face.png"}],
    )
    element = "crowd-keypoint"
    open_task(page, job, element)
    for x, y in [(200, 150), (400, 150), (300, 250)]:  # labels advance by themselves
        click(page, element, x, y)
    drag(page, element, (300, 250), (300, 260))  # move the nose down
    page.keyboard.press("Shift+ArrowDown")  # and 10 px more with the keyboard
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    points = Annotation.objects.get(job=job).answer["annotatedResult"]["keypoints"]
    placed = {p["label"]: (round(p["x"]), round(p["y"])) for p in points}
    assert set(placed) == {"left-eye", "right-eye", "nose"}
    assert abs(placed["nose"][1] - 270) <= 2 and abs(placed["left-eye"][0] - 200) <= 2


def test_a_labeler_paints_a_mask(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "road.png", size=(200, 100))
    job = image_job(
        manager,
        team,
        task_type="image-semantic-segmentation",
        labels=["sky", "road"],
        lines=[{"source-ref": "road.png"}],
    )
    element = "crowd-semantic-segmentation"
    open_task(page, job, element)
    drag(page, element, (20, 20), (80, 20))  # brush stroke of sky (radius 12)
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in [(100, 50), (180, 50), (180, 90), (100, 90)]:
        click(page, element, x, y)
    page.keyboard.press("f")
    page.keyboard.press("e")  # erase a dab out of the road
    click(page, element, 140, 70)
    page.keyboard.press("Control+z")  # …and take it back
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    inner = Annotation.objects.get(job=job).answer["crowd-semantic-segmentation"]
    assert inner["inputImageProperties"] == {"width": 200, "height": 100}
    pixels = inner["pixels"]
    assert abs(pixels["road"] - 80 * 40) <= 120
    stroke = 60 * 24 + 3.1416 * 12 * 12  # a 24 px wide band with round ends
    assert abs(pixels["sky"] - stroke) <= 0.1 * stroke
    stored = settings.MEDIA_ROOT / inner["labeledImage"]["ref"]
    assert stored.is_file()


def test_a_labeler_moves_a_tracked_box_on_a_keyframe(
    page: "Page", settings, manager, team, labeler, screenshot
):
    frames = [write_image(settings.MEDIA_ROOT, f"f{i}.png", size=(320, 200)) for i in range(10)]
    job = image_job(
        manager,
        team,
        task_type="video-object-tracking",
        labels=["car", "person"],
        lines=[{"frames": frames}],
    )
    element = "crowd-video-object-tracking"
    open_task(page, job, element)
    drag(page, element, (20, 50), (80, 110))  # a car on frame 1 (index 0)
    page.keyboard.press("End")  # the last frame: the object is not there yet…
    expect(page.locator(".qa-frame")).to_have_text("Frame 10 / 10")
    page.keyboard.press("k")  # …carry it here as a keyframe
    drag(page, element, (50, 80), (230, 80))  # and move it 180 px right
    expect(page.locator(".qa-keyframes")).to_contain_text("keyframes at frames 1, 10")
    # Half way the box is half way: frame 6 (index 5) is at 20 + 180 * 5/9 = 120.
    page.locator(".qa-scrubber").fill("5")
    expect(page.locator(".qa-frame")).to_have_text("Frame 6 / 10")
    left = page.evaluate("document.querySelector('crowd-video-object-tracking').boxes[0].left")
    assert abs(left - 120) <= 2
    screenshot(page, "video-tracking")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    (track,) = Annotation.objects.get(job=job).answer["annotatedResult"]["tracks"]
    assert [k["frame"] for k in track["keyframes"]] == [0, 9]
    assert abs(track["keyframes"][1]["left"] - 200) <= 2
    assert track["label"] == "car"


def test_adjusting_an_earlier_jobs_boxes(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "street.png", size=(640, 400))
    earlier = {
        "source-ref": "street.png",
        "boxes": {
            "annotations": [{"class_id": 0, "left": 100, "top": 100, "width": 100, "height": 50}]
        },
        "boxes-metadata": {"type": "groundtruth/object-detection", "class-map": {"0": "car"}},
    }
    job = image_job(
        manager,
        team,
        task_type="image-bounding-box-adjustment",
        labels=["car", "person"],
        lines=[earlier],
    )
    element = "crowd-bounding-box"
    open_task(page, job, element)
    expect(page.locator(".qa-status")).to_contain_text("1 box")
    page.keyboard.press("Tab")  # select it: its handles show
    drag(page, element, (200, 125), (250, 125))  # widen it by its right edge
    page.keyboard.press("2")  # and say it is a person
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    answer = Annotation.objects.get(job=job).answer["annotatedResult"]
    assert answer["initialValueModified"] is True
    (adjusted,) = answer["boundingBoxes"]
    assert adjusted["label"] == "person" and adjusted["left"] == 100
    assert abs(adjusted["width"] - 150) <= 2


def test_video_clip_classification_and_per_frame_detection(
    page: "Page", settings, manager, team, labeler
):
    frames = [write_image(settings.MEDIA_ROOT, f"c{i}.png", size=(320, 200)) for i in range(5)]
    clip = image_job(
        manager,
        team,
        task_type="video-classification",
        labels=["calm", "busy"],
        lines=[{"frames": frames}],
    )
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{clip.pk}/")
    expect(page.locator("crowd-video-classifier .qc-image img")).to_be_visible()
    page.keyboard.press(".")
    page.keyboard.press(".")
    expect(page.locator("crowd-video-classifier img")).to_have_attribute(
        "src", re.compile(r"/frames/2$")
    )
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    assert Annotation.objects.get(job=clip).answer == {"label": "busy"}

    detection = image_job(
        manager,
        team,
        task_type="video-object-detection",
        labels=["car"],
        lines=[{"frames": frames}],
    )
    element = "crowd-video-object-detection"
    page.goto(f"/work/jobs/{detection.pk}/")
    page.wait_for_selector(f"{element}[data-ready]")
    drag(page, element, (10, 10), (60, 60))
    page.keyboard.press(".")  # frame 2 has its own boxes: none yet
    expect(page.locator(".qa-status")).to_contain_text("0 boxes")
    drag(page, element, (100, 100), (150, 130))
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    answer = Annotation.objects.get(job=detection).answer["annotatedResult"]
    assert [f["frame"] for f in answer["frames"]] == [0, 1]
    assert answer["frameCount"] == 5


def test_attributes_written_as_javascript_literals_parse(page: "Page", labeler):
    """Templates for the managed service often write initial-value as a JS literal."""
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto("/work/")
    parsed = page.evaluate(
        """async (samples) => {
            const module = await import("/static/quorum/elements/annotation-canvas.js");
            return samples.map(([raw, fallback]) => module.parseJsonAttribute(raw, fallback));
        }""",
        [
            ["[ { label: 'cat', left: 1, top: 2, width: 3, height: 4, }, ]", []],
            ['[{"label": "a, b}", "left": 0}]', []],
            ["{ broken", "fallback"],
        ],
    )
    assert parsed == [
        [{"label": "cat", "left": 1, "top": 2, "width": 3, "height": 4}],
        [{"label": "a, b}", "left": 0}],
        "fallback",
    ]


def test_a_mask_starts_from_an_earlier_label_map(page: "Page", settings, labeler):
    """A custom template hands the element an earlier map to correct (served same-origin)."""
    write_image(settings.MEDIA_ROOT, "road.png", size=(40, 30))
    earlier = Image.new("RGB", (40, 30), "#ffffff")
    earlier.paste((0x43, 0x63, 0xD8), (0, 0, 40, 10))  # the top 10 rows are sky
    buffer = io.BytesIO()
    earlier.save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    sign_in(page, "lab1", "lab1-pass-1")
    page.goto("/work/")
    page.evaluate(
        """async ([image, initial]) => {
            await import("/static/quorum/elements/index.js");
            const element = document.createElement("crowd-semantic-segmentation");
            element.setAttribute("labels", '["sky", "road"]');
            element.setAttribute("src", image);
            element.setAttribute("initial-value", initial);
            document.querySelector("main").append(element);
        }""",
        [
            "data:image/png;base64,"
            + base64.b64encode((settings.MEDIA_ROOT / "road.png").read_bytes()).decode(),
            json.dumps({"src": data_url, "labelMappings": {"sky": {"color": "#4363D8"}}}),
        ],
    )
    page.wait_for_selector("crowd-semantic-segmentation[data-initial-loaded]")
    counts = page.evaluate("document.querySelector('crowd-semantic-segmentation').counts()")
    assert counts == [40 * 20, 40 * 10, 0]
