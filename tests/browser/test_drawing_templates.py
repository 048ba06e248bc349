"""The drawing elements in templates written as for the managed service, in Chromium.

Each test attaches a template in that style (Liquid, ``grant_read_access``, the managed
service's script line) to a custom job, draws on its one image with the mouse and keys,
submits, and checks the stored answer has the shape the element documents.
"""

import base64
import io
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from labeling.models import Annotation
from tests.browser.test_image_annotation import click, drag, open_task
from tests.labeling.task_ui.test_managed_style_templates import (
    DRAWING_SAMPLE,
    DRAWING_TEMPLATES,
)
from tests.task_types.helpers import image_job, write_image

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

SIZE = {"height": 200, "width": 320}


@pytest.fixture
def draw_on(task, work_on, settings):
    """Start a custom job on one 320×200 image with ``source``; wait for the element."""

    def start(source: str, element: str, ready: str = "[data-ready]", **fields):
        write_image(settings.MEDIA_ROOT, "scene.png", size=(SIZE["width"], SIZE["height"]))
        job = work_on(source, {"source-ref": "scene.png", **fields})
        task.wait_for_selector(f"{element}{ready}")
        task.settle()
        return job

    return start


def submit(page: "Page", job) -> dict:
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1", timeout=20_000)  # slow under load
    return Annotation.objects.get(job=job).answer


def near(vertices: list[dict], expected: list[tuple[float, float]], tolerance=1.5) -> bool:
    return len(vertices) == len(expected) and all(
        abs(v["x"] - x) <= tolerance and abs(v["y"] - y) <= tolerance
        for v, (x, y) in zip(vertices, expected, strict=True)
    )


def test_crowd_polyline(page: "Page", task, draw_on):
    job = draw_on(
        """<crowd-form>
  <crowd-polyline name="crowdPolyline" src="{{ task.input.taskObject | grant_read_access }}"
      header="Trace the lane markings" labels="['lane','curb']">
    <full-instructions><p>Use the <b>Enter</b> key to complete a polyline.</p></full-instructions>
    <short-instructions><p>Click along each marking, then press Enter.</p></short-instructions>
  </crowd-polyline>
</crowd-form>""",
        "crowd-polyline",
    )
    element = "crowd-polyline"
    expect(task.locator("short-instructions")).to_contain_text("then press Enter")
    page.keyboard.press("2")
    for x, y in [(50, 50), (150, 80), (250, 50), (280, 20)]:
        click(task, element, x, y)
    page.keyboard.press("Backspace")  # drops (280, 20)
    page.keyboard.press("Enter")  # ends the polyline; does not submit the form
    expect(task.locator(".qa-status")).to_contain_text("1 polyline")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    click(task, element, 40, 150)
    click(task, element, 200, 150)
    page.keyboard.press("f")
    # Select the curb by clicking on it and move its middle point 10 px down.
    click(task, element, 100, 65)
    drag(task, element, (150, 80), (150, 90))
    expect(task.locator(".qa-status")).to_contain_text("2 polylines")

    answer = submit(page, job)
    assert list(answer) == ["crowdPolyline"]
    inner = answer["crowdPolyline"]
    assert inner["inputImageProperties"] == SIZE
    curb, lane = sorted(inner["polylines"], key=lambda line: line["label"])
    assert curb["label"] == "curb" and near(curb["vertices"], [(50, 50), (150, 90), (250, 50)])
    assert lane["label"] == "lane" and near(lane["vertices"], [(40, 150), (200, 150)])


def test_crowd_line(page: "Page", task, draw_on):
    job = draw_on(
        """<crowd-form>
  <crowd-line name="crowdLine" src="{{ task.input.taskObject | grant_read_access }}"
      header="Draw the horizon and the pole" labels="['horizon', 'pole']">
    <short-instructions>Two clicks make a line.</short-instructions>
  </crowd-line>
</crowd-form>""",
        "crowd-line",
    )
    element = "crowd-line"
    click(task, element, 20, 20)
    page.keyboard.press("Enter")  # refused: a line needs its second point
    expect(task.locator(".qa-status")).to_contain_text("drawing: 1 point")
    click(task, element, 120, 60)  # the second point ends the line
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    click(task, element, 200, 20)
    click(task, element, 200, 180)
    page.keyboard.press("Escape")
    click(task, element, 60, 120)  # a third, stray line…
    click(task, element, 90, 120)
    page.keyboard.press("Delete")  # …deleted while selected
    page.keyboard.press("Control+z")  # back…
    page.keyboard.press("Control+Shift+z")  # …and gone again
    expect(task.locator(".qa-status")).to_contain_text("2 lines")

    answer = submit(page, job)
    inner = answer["crowdLine"]
    assert set(inner) == {"lines", "inputImageProperties"}
    assert inner["inputImageProperties"] == SIZE
    horizon, pole = sorted(inner["lines"], key=lambda line: line["label"])
    assert horizon["label"] == "horizon" and near(horizon["vertices"], [(20, 20), (120, 60)])
    assert pole["label"] == "pole" and near(pole["vertices"], [(200, 20), (200, 180)])


def decode_png(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def hex_at(mask: Image.Image, x: int, y: int) -> str:
    return "#{:02x}{:02x}{:02x}".format(*mask.getpixel((x, y)))


def rendered_template(element: str) -> str:
    """The render test's template for ``element``, without its script line (work_on adds it)."""
    source = DRAWING_TEMPLATES[element][0]
    assert source.startswith('<script src="https://assets.crowd.aws/crowd-html-elements.js">')
    return source.split("\n", 1)[1]


def draw_template(draw_on, element: str, ready: str = "[data-ready]"):
    fields = {k: v for k, v in DRAWING_SAMPLE.items() if k != "taskObject"}
    return draw_on(rendered_template(element), element, ready, **fields)


def test_crowd_bounding_box_adjusts_its_initial_value(page: "Page", task, draw_on):
    element = "crowd-bounding-box"
    job = draw_template(draw_on, element)
    expect(task.locator(".qa-status")).to_contain_text("1 box")
    page.keyboard.press("2")  # person
    drag(task, element, (150, 50), (250, 150))
    expect(task.locator(".qa-status")).to_contain_text("2 boxes")

    inner = submit(page, job)["annotatedResult"]
    assert set(inner) == {"boundingBoxes", "inputImageProperties", "initialValueModified"}
    assert inner["inputImageProperties"] == SIZE
    assert inner["initialValueModified"] is True
    car, person = sorted(inner["boundingBoxes"], key=lambda box: box["label"])
    assert car == {"label": "car", "left": 10, "top": 20, "width": 30, "height": 40}
    assert person["label"] == "person"
    got = [person[key] for key in ("left", "top", "width", "height")]
    assert all(abs(a - b) <= 2 for a, b in zip(got, [150, 50, 100, 100], strict=True))


def test_crowd_polygon(page: "Page", task, draw_on):
    element = "crowd-polygon"
    job = draw_template(draw_on, element)
    page.keyboard.press("2")  # door
    for x, y in [(50, 50), (150, 50), (150, 150), (50, 150)]:
        click(task, element, x, y)
    page.keyboard.press("f")
    expect(task.locator(".qa-status")).to_contain_text("1 polygon")

    inner = submit(page, job)["annotatedResult"]
    assert set(inner) == {"polygons", "inputImageProperties"}
    assert inner["inputImageProperties"] == SIZE
    [door] = inner["polygons"]
    assert door["label"] == "door"
    assert near(door["vertices"], [(50, 50), (150, 50), (150, 150), (50, 150)])


def test_crowd_keypoint_keeps_its_initial_point(page: "Page", task, draw_on):
    element = "crowd-keypoint"
    job = draw_template(draw_on, element)
    page.keyboard.press("2")  # left eye
    click(task, element, 100, 100)

    inner = submit(page, job)["annotatedResult"]
    assert set(inner) == {"keypoints", "inputImageProperties"}
    assert inner["inputImageProperties"] == SIZE
    placed = {p["label"]: (p["x"], p["y"]) for p in inner["keypoints"]}
    assert placed["nose"] == (5, 6)
    assert abs(placed["left eye"][0] - 100) <= 1.5 and abs(placed["left eye"][1] - 100) <= 1.5
    assert len(inner["keypoints"]) == 2


def test_crowd_semantic_segmentation(page: "Page", task, draw_on):
    element = "crowd-semantic-segmentation"
    job = draw_template(draw_on, element)
    page.keyboard.press("2")  # Dog
    page.keyboard.press("p")
    for x, y in [(50, 50), (150, 50), (150, 150), (50, 150)]:
        click(task, element, x, y)
    page.keyboard.press("f")
    page.keyboard.press("1")  # Cat, with the brush
    page.keyboard.press("b")
    drag(task, element, (250, 100), (280, 100))

    inner = submit(page, job)["annotatedResult"]
    assert set(inner) == {"inputImageProperties", "labelMappings", "labeledImage"}
    assert inner["inputImageProperties"] == SIZE
    assert set(inner["labelMappings"]) == {"Cat", "Dog", "Bird"}
    mask = decode_png(inner["labeledImage"]["pngImageData"])
    assert mask.size == (SIZE["width"], SIZE["height"])
    assert hex_at(mask, 100, 100) == inner["labelMappings"]["Dog"]["color"]
    assert hex_at(mask, 265, 100) == inner["labelMappings"]["Cat"]["color"]
    assert hex_at(mask, 5, 5) == "#ffffff"


def test_crowd_image_classifier_multi_select(page: "Page", task, draw_on):
    element = "crowd-image-classifier-multi-select"
    job = draw_template(draw_on, element, ready=" .qc-image img")
    page.keyboard.press("Enter")
    expect(task.locator(".crowd-form-message")).to_contain_text("at least one")
    page.keyboard.press("1")
    task.get_by_role("button", name="Bird").click()
    assert submit(page, job) == {"animals": {"labels": ["Cat", "Bird"]}}


def test_crowd_instance_segmentation(page: "Page", task, draw_on):
    job = draw_on(
        """<crowd-form>
  <crowd-instance-segmentation name="annotatedResult"
      src="{{ task.input.taskObject | grant_read_access }}"
      header="Please label each of the requested objects in this image"
      labels="['Cat', 'Dog', 'Bird']">
    <full-instructions header="Segmentation Instructions">
      <ol><li><strong>Read</strong> the task carefully and inspect the image.</li></ol>
    </full-instructions>
    <short-instructions><p>Label all instances of the requested items.</p></short-instructions>
  </crowd-instance-segmentation>
</crowd-form>""",
        "crowd-instance-segmentation",
    )
    element = "crowd-instance-segmentation"
    # Two cats painted with the brush (N starts the second), a dog filled as a polygon.
    page.keyboard.press("1")
    drag(task, element, (40, 40), (80, 40))
    page.keyboard.press("n")
    drag(task, element, (40, 150), (80, 150))
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in [(200, 50), (300, 50), (300, 150), (200, 150)]:
        click(task, element, x, y)
    page.keyboard.press("f")
    # Tab makes the first cat current again (and Cat the label): a stroke adds to it.
    page.keyboard.press("Tab")
    page.keyboard.press("b")
    expect(task.locator(".qa-status")).to_contain_text("painting: Cat #1")
    drag(task, element, (60, 80), (70, 80))
    # A bird brushed and undone again leaves no instance behind.
    page.keyboard.press("3")
    drag(task, element, (150, 100), (160, 100))
    page.keyboard.press("Control+z")
    expect(task.locator(".qa-status")).to_contain_text("3 instances")

    answer = submit(page, job)
    inner = answer["annotatedResult"]
    assert set(inner) == {"inputImageProperties", "instances", "labeledImage"}
    assert inner["inputImageProperties"] == SIZE
    instances = inner["instances"]
    assert [i["label"] for i in instances] == ["Cat", "Cat", "Dog"]
    colors = [i["color"] for i in instances]
    assert len(set(colors)) == 3 and "#ffffff" not in colors

    mask = decode_png(inner["labeledImage"]["pngImageData"])
    assert mask.size == (SIZE["width"], SIZE["height"])
    assert hex_at(mask, 60, 40) == hex_at(mask, 65, 80) == colors[0]
    assert hex_at(mask, 60, 150) == colors[1]
    assert hex_at(mask, 250, 100) == colors[2]
    assert hex_at(mask, 155, 100) == "#ffffff"
    assert hex_at(mask, 5, 195) == "#ffffff"
    used = {"#{:02x}{:02x}{:02x}".format(*rgb) for _, rgb in mask.getcolors(maxcolors=1_000)}
    assert used == {*colors, "#ffffff"}


@pytest.mark.parametrize(
    ("task_type", "element", "key"),
    [("image-polyline", "crowd-polyline", "polylines"), ("image-line", "crowd-line", "lines")],
)
def test_the_builtin_line_task_types(
    page: "Page", settings, manager, team, labeler, task_type, element, key
):
    write_image(settings.MEDIA_ROOT, "road.png", size=(SIZE["width"], SIZE["height"]))
    job = image_job(
        manager,
        team,
        task_type=task_type,
        labels=["lane", "curb"],
        lines=[{"source-ref": "road.png"}],
    )
    open_task(page, job, element)
    page.keyboard.press("2")
    click(page, element, 30, 30)
    click(page, element, 130, 90)
    if element == "crowd-polyline":
        page.keyboard.press("Enter")  # ends the polyline (a line ends at its second point)
    expect(page.locator(".qa-status")).to_contain_text(f"1 {element.removeprefix('crowd-')}")
    page.keyboard.press("Enter")
    expect(page.locator("#work-status")).to_contain_text("Nothing is left for you")
    answer = Annotation.objects.get(job=job).answer
    (inner,) = answer.values()
    assert inner["inputImageProperties"] == SIZE
    [curb] = inner[key]
    assert curb["label"] == "curb" and near(curb["vertices"], [(30, 30), (130, 90)])


def test_a_template_script_sets_the_labels_of_a_drawing_element(page: "Page", task, draw_on):
    """As the managed service's scripts do: the label list comes from the script, and
    `_submittableValue` reads the element's value."""
    job = draw_on(
        """<crowd-form>
  <crowd-bounding-box name="boxes" src="{{ task.input.taskObject | grant_read_access }}"
      labels="['placeholder']" header="Draw the vehicles"></crowd-bounding-box>
  <input type="hidden" name="count" id="count">
</crowd-form>
<script>
  document.addEventListener('all-crowd-elements-ready', function () {
    document.querySelector('crowd-bounding-box').labels = ['car', 'truck'];
  });
  document.querySelector('crowd-form').addEventListener('submit', function () {
    var value = document.querySelector('crowd-bounding-box')._submittableValue;
    document.getElementById('count').value = String(value.boundingBoxes.length);
  });
</script>""",
        "crowd-bounding-box",
    )
    expect(task.locator(".qa-label")).to_have_text(["1car", "2truck"])
    page.keyboard.press("2")
    drag(task, "crowd-bounding-box", (20, 20), (120, 100))
    answer = submit(page, job)
    assert answer["count"] == "1"
    [truck] = answer["boxes"]["boundingBoxes"]
    assert truck["label"] == "truck"
