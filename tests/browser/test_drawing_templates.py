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
from tests.browser.test_image_annotation import click, drag
from tests.task_types.helpers import write_image

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

SIZE = {"height": 200, "width": 320}


@pytest.fixture
def draw_on(page: "Page", work_on, settings):
    """Start a custom job on one 320×200 image with ``source``; wait for the element."""

    def start(source: str, element: str):
        write_image(settings.MEDIA_ROOT, "scene.png", size=(SIZE["width"], SIZE["height"]))
        job = work_on(source, {"source-ref": "scene.png"})
        page.wait_for_selector(f"{element}[data-ready]")
        return job

    return start


def submit(page: "Page", job) -> dict:
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    return Annotation.objects.get(job=job).answer


def near(vertices: list[dict], expected: list[tuple[float, float]], tolerance=1.5) -> bool:
    return len(vertices) == len(expected) and all(
        abs(v["x"] - x) <= tolerance and abs(v["y"] - y) <= tolerance
        for v, (x, y) in zip(vertices, expected, strict=True)
    )


def test_crowd_polyline(page: "Page", draw_on):
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
    expect(page.locator("short-instructions")).to_contain_text("then press Enter")
    page.keyboard.press("2")
    for x, y in [(50, 50), (150, 80), (250, 50), (280, 20)]:
        click(page, element, x, y)
    page.keyboard.press("Backspace")  # drops (280, 20)
    page.keyboard.press("Enter")  # ends the polyline; does not submit the form
    expect(page.locator(".qa-status")).to_contain_text("1 polyline")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    click(page, element, 40, 150)
    click(page, element, 200, 150)
    page.keyboard.press("f")
    # Select the curb by clicking on it and move its middle point 10 px down.
    click(page, element, 100, 65)
    drag(page, element, (150, 80), (150, 90))
    expect(page.locator(".qa-status")).to_contain_text("2 polylines")

    answer = submit(page, job)
    assert list(answer) == ["crowdPolyline"]
    inner = answer["crowdPolyline"]
    assert inner["inputImageProperties"] == SIZE
    curb, lane = sorted(inner["polylines"], key=lambda line: line["label"])
    assert curb["label"] == "curb" and near(curb["vertices"], [(50, 50), (150, 90), (250, 50)])
    assert lane["label"] == "lane" and near(lane["vertices"], [(40, 150), (200, 150)])


def test_crowd_line(page: "Page", draw_on):
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
    click(page, element, 20, 20)
    page.keyboard.press("Enter")  # refused: a line needs its second point
    expect(page.locator(".qa-status")).to_contain_text("drawing: 1 point")
    click(page, element, 120, 60)  # the second point ends the line
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    click(page, element, 200, 20)
    click(page, element, 200, 180)
    page.keyboard.press("Escape")
    click(page, element, 60, 120)  # a third, stray line…
    click(page, element, 90, 120)
    page.keyboard.press("Delete")  # …deleted while selected
    page.keyboard.press("Control+z")  # back…
    page.keyboard.press("Control+Shift+z")  # …and gone again
    expect(page.locator(".qa-status")).to_contain_text("2 lines")

    answer = submit(page, job)
    inner = answer["crowdLine"]
    assert set(inner) == {"lines", "inputImageProperties"}
    assert inner["inputImageProperties"] == SIZE
    horizon, pole = sorted(inner["lines"], key=lambda line: line["label"])
    assert horizon["label"] == "horizon" and near(horizon["vertices"], [(20, 20), (120, 60)])
    assert pole["label"] == "pole" and near(pole["vertices"], [(200, 20), (200, 180)])


def decode_png(data: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def test_crowd_instance_segmentation(page: "Page", draw_on):
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
    drag(page, element, (40, 40), (80, 40))
    page.keyboard.press("n")
    drag(page, element, (40, 150), (80, 150))
    page.keyboard.press("2")
    page.keyboard.press("p")
    for x, y in [(200, 50), (300, 50), (300, 150), (200, 150)]:
        click(page, element, x, y)
    page.keyboard.press("f")
    # A bird brushed and erased again leaves no instance behind.
    page.keyboard.press("3")
    page.keyboard.press("b")
    drag(page, element, (150, 100), (160, 100))
    page.keyboard.press("Control+z")
    expect(page.locator(".qa-status")).to_contain_text("3 instances")

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
    hex_at = "#{:02x}{:02x}{:02x}".format
    assert hex_at(*mask.getpixel((60, 40))) == colors[0]
    assert hex_at(*mask.getpixel((60, 150))) == colors[1]
    assert hex_at(*mask.getpixel((250, 100))) == colors[2]
    assert hex_at(*mask.getpixel((155, 100))) == "#ffffff"
    assert hex_at(*mask.getpixel((5, 195))) == "#ffffff"
    used = {hex_at(*rgb) for _, rgb in mask.getcolors(maxcolors=1_000)}
    assert used == {*colors, "#ffffff"}
