"""The task pages' rough edges (issue 14, point 6), in headless Chromium: the `?` list of
keys and the legend built from what each element declares (and the NER text's focus), the
object list, number keys that choose the next shape's label, the "no objects" question
(asked with nothing drawn; not with a box, as the object-list test submits), and video
playback with interpolated boxes."""

from typing import TYPE_CHECKING

import pytest

from labeling.models import Annotation
from labeling.services.jobs import job_start
from tests.browser.test_image_annotation import drag, open_task, screen_point
from tests.conftest import import_lines
from tests.task_types.helpers import image_job, write_image

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

BOXES = "crowd-bounding-box"
NOTHING_LEFT = "Nothing is left for you"


def box_job(settings, manager, team, labels=("car", "person")):
    write_image(settings.MEDIA_ROOT, "street.png", size=(640, 400))
    return image_job(
        manager,
        team,
        task_type="image-bounding-box",
        labels=list(labels),
        lines=[{"source-ref": "street.png"}],
    )


def keys_listed(page: "Page") -> list[str]:
    """The key cells of the open `?` dialog, as text."""
    return page.locator(".qk-dialog[open] .qk-list dt").all_inner_texts()


def test_the_question_mark_lists_the_keys_each_element_declares(
    page: "Page", settings, manager, team, labeler, make_job, screenshot
):
    job = box_job(settings, manager, team)
    open_task(page, job, BOXES)
    # The legend above the task names the boxes' keys, not a classifier's.
    legend = page.locator("#keys-help")
    expect(legend).to_contain_text("select the next / previous box")
    expect(legend).to_contain_text("label of the next box")
    expect(legend).to_contain_text("all keys")
    page.keyboard.press("?")
    dialog = page.locator(".qk-dialog[open]")
    expect(dialog).to_be_visible()
    keys = keys_listed(page)
    assert "Alt+arrows" in keys
    assert any("Tab" in k for k in keys) and any("Ctrl+Z" in k for k in keys)
    assert any(k.startswith("O") for k in keys)  # the box attributes the template declares
    expect(dialog.locator(".qk-section[data-element='crowd-form']")).to_contain_text("submit")
    screenshot(page, "keys-of-a-box-task")
    # The task's keys wait while the list is open (S would skip); Escape closes it.
    page.keyboard.press("s")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(page.locator(f"{BOXES}[data-ready]")).to_be_visible()  # still the same task

    # Entity recognition: another element, other keys; the legend follows. The text has the
    # focus when the page opens, so its keys work at once, with no click.
    ner = make_job(items=0, start=False, task_type="text-entity-recognition", labels=["PER"])
    import_lines(ner, manager, [{"source": "Ada Lovelace met Babbage."}])
    job_start(job=ner, by=manager)
    page.goto(f"/work/jobs/{ner.pk}/")
    expect(page.locator(".qe-doc")).to_be_focused()
    expect(legend).to_contain_text("label the selection")
    expect(legend).not_to_contain_text("box")
    page.keyboard.press("Shift+ArrowRight")  # "Ada Lovelace"
    page.keyboard.press("1")
    page.locator(".crowd-form-keys").click()
    keys = keys_listed(page)
    assert "Shift+← / Shift+→" in keys
    assert "Alt+arrows" not in keys
    page.keyboard.press("Escape")
    page.locator(".qe-doc").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text(NOTHING_LEFT)
    (entity,) = Annotation.objects.get(job=ner).answer["entities"]
    assert entity == {"label": "PER", "startOffset": 0, "endOffset": 12}
    assert not Annotation.objects.filter(job=job).exists()  # the box task was never sent


def test_the_object_list_selects_relabels_hides_and_deletes(
    page: "Page", settings, manager, team, labeler, screenshot
):
    job = box_job(settings, manager, team)
    open_task(page, job, BOXES)
    drag(page, BOXES, (100, 50), (180, 250))
    drag(page, BOXES, (300, 200), (500, 300))
    drag(page, BOXES, (20, 320), (60, 380))
    rows = page.locator(".qa-object")
    expect(rows).to_have_count(3)
    expect(page.locator(".qa-objects-title")).to_have_text("Objects (3)")

    # Select: the second row selects the second box (its row is marked current).
    rows.nth(1).locator(".qa-object-pick").click()
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    assert page.evaluate(f"document.querySelector('{BOXES}').selected") == 1
    # Relabel through the list.
    rows.nth(1).locator("select").select_option(label="person")
    expect(rows.nth(1).locator(".qa-object-pick")).to_contain_text("person")
    # Hide: not drawn, not hit by a click, still in the answer.
    rows.nth(0).locator(".qa-object-hide").click()
    expect(rows.nth(0)).to_have_attribute("data-hidden", "")
    x, y = screen_point(page, BOXES, 140, 150)
    page.mouse.click(x, y)
    assert page.evaluate(f"document.querySelector('{BOXES}').selected") != 0
    # Delete the third.
    rows.nth(2).locator(".qa-object-delete").click()
    expect(rows).to_have_count(2)
    screenshot(page, "object-list")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text(NOTHING_LEFT)
    boxes = Annotation.objects.get(job=job).answer["annotatedResult"]["boundingBoxes"]
    assert sorted(b["label"] for b in boxes) == ["car", "person"]
    assert all("hidden" not in b for b in boxes)
    assert any(abs(b["left"] - 300) <= 2 and b["label"] == "person" for b in boxes)


def test_a_number_key_chooses_the_next_label_without_relabelling_the_last_shape(
    page: "Page", settings, manager, team, labeler
):
    job = box_job(settings, manager, team)
    open_task(page, job, BOXES)
    drag(page, BOXES, (100, 50), (180, 250))  # a car (the first label)
    page.keyboard.press("2")  # person, for the NEXT box
    drag(page, BOXES, (300, 200), (500, 300))
    element = page.evaluate(f"document.querySelector('{BOXES}').boxes.map((b) => b.label)")
    assert element == ["car", "person"]
    # A box selected on purpose (Tab) is relabelled by a number key.
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    page.keyboard.press("2")
    element = page.evaluate(f"document.querySelector('{BOXES}').boxes.map((b) => b.label)")
    assert element == ["person", "person"]

    # Polygons too: after closing one, 2 is the next polygon's label.
    write_image(settings.MEDIA_ROOT, "field.png", size=(400, 300))
    polygons = image_job(
        manager,
        team,
        task_type="image-polygon",
        labels=["grass", "road"],
        lines=[{"source-ref": "field.png"}],
    )
    page.goto(f"/work/jobs/{polygons.pk}/")
    page.wait_for_selector("crowd-polygon[data-ready]")
    for x, y in [(20, 20), (120, 20), (120, 120)]:
        page.mouse.click(*screen_point(page, "crowd-polygon", x, y))
    page.keyboard.press("f")
    page.keyboard.press("2")
    labels = page.evaluate("document.querySelector('crowd-polygon').shapes.map((s) => s.label)")
    assert labels == ["grass"]
    assert page.evaluate("document.querySelector('crowd-polygon').currentLabel") == 1


def test_enter_on_an_image_with_no_shapes_asks_first(
    page: "Page", settings, manager, team, labeler, screenshot
):
    job = box_job(settings, manager, team)
    open_task(page, job, BOXES)
    page.keyboard.press("Enter")
    question = page.locator(".crowd-form-confirm[open]")
    expect(question).to_be_visible()
    expect(question).to_contain_text("No box is marked")
    screenshot(page, "no-objects-question")
    page.keyboard.press("Escape")  # keep working: nothing was sent
    expect(question).to_have_count(0)
    assert not Annotation.objects.filter(job=job).exists()
    page.keyboard.press("Enter")
    expect(question).to_be_visible()
    page.keyboard.press("Enter")  # the question's own button: submit "no objects"
    expect(page.locator("#work-status")).to_contain_text(NOTHING_LEFT)
    assert Annotation.objects.get(job=job).answer["annotatedResult"]["boundingBoxes"] == []


def test_video_plays_and_shows_boxes_on_interpolated_frames(
    page: "Page", settings, manager, team, labeler
):
    frames = [write_image(settings.MEDIA_ROOT, f"f{i}.png", size=(320, 200)) for i in range(10)]
    job = image_job(
        manager,
        team,
        task_type="video-object-tracking",
        labels=["car"],
        lines=[{"frames": frames}],
    )
    element = "crowd-video-object-tracking"
    open_task(page, job, element)
    drag(page, element, (20, 50), (80, 110))  # keyframe at frame 1
    page.keyboard.press("End")
    page.keyboard.press("k")
    drag(page, element, (50, 80), (230, 80))  # keyframe at frame 10, 180 px right
    page.keyboard.press("Home")
    expect(page.locator(".qa-frame")).to_have_text("Frame 1 / 10")
    # Record the box shown on each frame while the clip plays.
    page.evaluate(
        """(selector) => {
            const video = document.querySelector(selector);
            window.seen = [];
            video.addEventListener('crowd-frame', (event) => {
              const box = video.boxes[0];
              window.seen.push([event.detail.frame, box ? box.left : null]);
            });
        }""",
        element,
    )
    play = page.locator(".qa-play")
    expect(play).to_contain_text("Play")
    page.keyboard.press("p")
    expect(play).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".qa-frame")).to_have_text("Frame 10 / 10", timeout=15_000)
    expect(play).to_have_attribute("aria-pressed", "false")  # it stops at the end
    seen = page.evaluate("window.seen")
    assert [frame for frame, _ in seen] == list(range(1, 10))
    for frame, left in seen:
        assert left is not None and abs(left - (20 + 180 * frame / 9)) <= 1, (frame, left)
    # The interpolated box is drawn: on frame 5 (index 4) its left edge is at x = 100.
    page.locator(".qa-scrubber").fill("4")
    expect(page.locator(".qa-frame")).to_have_text("Frame 5 / 10")
    page.wait_for_timeout(100)
    pixel_at = """([selector, x, y]) => {
            const video = document.querySelector(selector);
            const ratio = window.devicePixelRatio || 1;
            const p = video.toScreen(x, y);
            const at = [Math.round(p.x * ratio), Math.round(p.y * ratio)];
            return [...video.context.getImageData(at[0], at[1], 1, 1).data].slice(0, 3);
        }"""
    red, green, _ = page.evaluate(pixel_at, [element, 100, 65])
    assert red > 150 and green < 110, (red, green)  # the box's colour (#e6194b), drawn there
    red, green, _ = page.evaluate(pixel_at, [element, 20, 65])  # where frame 1's box was
    assert red < 100 and green > 150, (red, green)  # the frame's own green: no stale box
    # P pauses a playing clip.
    page.keyboard.press("Home")
    page.keyboard.press("p")
    page.keyboard.press("p")
    expect(play).to_have_attribute("aria-pressed", "false")


def object_rows(page: "Page"):
    return page.locator(".qa-object")


def check_list(page: "Page", element: str, objects_js: str, relabel_to: str) -> None:
    """One object drawn: the list shows it, relabels, hides and deletes it; then Enter asks."""
    rows = object_rows(page)
    expect(rows).to_have_count(1)
    rows.nth(0).locator("select").select_option(label=relabel_to)
    expect(rows.nth(0).locator(".qa-object-pick")).to_contain_text(relabel_to)
    rows.nth(0).locator(".qa-object-hide").click()
    expect(rows.nth(0)).to_have_attribute("data-hidden", "")
    rows.nth(0).locator(".qa-object-hide").click()
    expect(rows.nth(0)).not_to_have_attribute("data-hidden", "")
    assert page.evaluate(
        f"(() => {{ const e = document.querySelector('{element}'); {objects_js} }})()"
    ) == [relabel_to]
    rows.nth(0).locator(".qa-object-delete").click()
    expect(object_rows(page)).to_have_count(0)
    expect(page.locator(".qa-object-none")).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator(".crowd-form-confirm[open]")).to_be_visible()
    page.keyboard.press("Escape")


def test_every_drawing_type_has_the_object_list(page: "Page", settings, manager, team, labeler):
    write_image(settings.MEDIA_ROOT, "scene.png", size=(400, 300))
    frames = [write_image(settings.MEDIA_ROOT, f"f{i}.png", size=(320, 200)) for i in range(3)]
    line = {"source-ref": "scene.png"}

    def job(task_type, lines=None):
        return image_job(
            manager, team, task_type=task_type, labels=["a", "b"], lines=lines or [line]
        )

    polyline, keypoint, mask, tracks = (
        job("image-polyline"),
        job("image-keypoint"),
        job("image-semantic-segmentation"),
        job("video-object-tracking", [{"frames": frames}]),
    )
    open_task(page, polyline, "crowd-polyline")
    for x, y in [(20, 20), (120, 40), (200, 100)]:
        page.mouse.click(*screen_point(page, "crowd-polyline", x, y))
    page.keyboard.press("f")
    check_list(page, "crowd-polyline", "return e.shapes.map((s) => s.label);", "b")

    page.goto(f"/work/jobs/{keypoint.pk}/")
    page.wait_for_selector("crowd-keypoint[data-ready]")
    page.mouse.click(*screen_point(page, "crowd-keypoint", 50, 50))
    check_list(page, "crowd-keypoint", "return e.points.map((p) => p.label);", "b")

    page.goto(f"/work/jobs/{mask.pk}/")
    page.wait_for_selector("crowd-semantic-segmentation[data-ready]")
    drag(page, "crowd-semantic-segmentation", (40, 40), (120, 40))
    # Relabelled: the painted pixels move to the other label.
    check_list(
        page,
        "crowd-semantic-segmentation",
        "return e.presentValues().map((v) => e.labels[v - 1]);",
        "b",
    )

    page.goto(f"/work/jobs/{tracks.pk}/")
    page.wait_for_selector("crowd-video-object-tracking[data-ready]")
    drag(page, "crowd-video-object-tracking", (20, 20), (80, 80))
    page.keyboard.press("End")  # selecting the object in the list goes back to its frame
    object_rows(page).nth(0).locator(".qa-object-pick").click()
    expect(page.locator(".qa-frame")).to_have_text("Frame 1 / 3")
    check_list(page, "crowd-video-object-tracking", "return e.tracks.map((t) => t.label);", "b")
