"""Issue 14 in headless Chromium, round 2: the item page draws each worker's mask as an
overlay in their colour and each worker's video boxes on the frame a slider picks, with the
toggle per worker."""

from typing import TYPE_CHECKING

import numpy as np
import pytest

from labeling.models import Item
from tests.browser.test_labeling_flow import sign_in
from tests.task_types.helpers import image_job, work, write_image
from tests.task_types.test_semantic_segmentation import COLORS, png_of
from tests.task_types.test_video import tracking_answer

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def _mask_answer(split: int) -> dict:
    index_map = np.zeros((30, 40), dtype=np.uint8)
    index_map[:split] = 1
    index_map[split + 5 :] = 2
    return {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": 40, "height": 30},
            "labelMappings": {label: {"color": color} for label, color in COLORS.items()},
            "labeledImage": {"pngImageData": png_of(index_map)},
        }
    }


def _overlay_pixels(page: "Page", worker: str) -> list[int]:
    """The colour and alpha of the top-left pixel of a worker's mask overlay."""
    return page.evaluate(
        """async (worker) => {
            const node = document.querySelector(
                `#item-viewer g[data-worker-name="${worker}"] image[data-mask]`);
            const image = new Image();
            image.src = node.getAttribute("href");
            await image.decode();
            const canvas = document.createElement("canvas");
            canvas.width = image.width;
            canvas.height = image.height;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            return [...context.getImageData(0, 0, 1, 1).data,
                    ...context.getImageData(0, 7, 1, 1).data];
        }""",
        worker,
    )


def test_the_item_page_draws_each_workers_mask_in_their_colour(
    page: "Page", settings, manager, team, make_labeler
):
    write_image(settings.MEDIA_ROOT, "road.png", size=(40, 30))
    job = image_job(
        manager, team, task_type="image-semantic-segmentation", labels=["sky", "road"],
        lines=[{"source-ref": "road.png"}], workers=2,
    )  # fmt: skip
    work(job, [make_labeler("w1"), make_labeler("w2")], [[_mask_answer(5)], [_mask_answer(10)]])
    item = Item.objects.get(job=job)
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/items/{item.pk}")
    page.wait_for_selector("#item-viewer[data-ready]")
    expect(page.locator("#item-viewer g[data-worker-name] image[data-mask]")).to_have_count(2)
    expect(
        page.locator('#item-viewer g[data-layer="consolidated"] image[data-mask]')
    ).to_have_count(1)
    first, second = _overlay_pixels(page, "w1"), _overlay_pixels(page, "w2")
    assert first[3] > 0 and second[3] > 0  # row 0 is sky for both: painted
    assert first[:3] != second[:3]  # a distinct colour per worker
    assert first[7] == 0 and second[7] > 0  # row 7: w1 left it empty, w2 painted sky
    page.get_by_label("w2").uncheck()
    expect(page.locator('#item-viewer g[data-worker-name="w2"]')).to_be_hidden()
    expect(page.locator('#item-viewer g[data-worker-name="w1"]')).to_be_visible()


def test_the_item_page_draws_each_workers_tracks_on_the_slider_frame(
    page: "Page", settings, manager, team, make_labeler
):
    frames = [write_image(settings.MEDIA_ROOT, f"v{i}.png", size=(64, 48)) for i in range(10)]
    job = image_job(
        manager, team, task_type="video-object-tracking", labels=["car", "person"],
        lines=[{"frames": frames}], workers=2,
    )  # fmt: skip
    work(
        job,
        [make_labeler("w1"), make_labeler("w2")],
        [[tracking_answer([(0, 0), (9, 36)])], [tracking_answer([(0, 4), (9, 40)])]],
    )
    item = Item.objects.get(job=job)
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/items/{item.pk}")
    page.wait_for_selector("#item-viewer[data-ready]")
    layers = page.locator("#item-viewer svg g[data-worker-name]")
    expect(layers).to_have_count(2)

    def lefts():
        return [float(layers.nth(i).locator("rect").get_attribute("x")) for i in range(2)]

    assert lefts() == [0, 4]
    expect(page.locator("#frame-caption")).to_have_text("Frame 1 / 10")
    page.locator("#frame-slider").fill("9")  # the last frame: each worker's last keyframe
    expect(page.locator("#frame-caption")).to_have_text("Frame 10 / 10")
    assert lefts() == [36, 40]
    page.locator("#frame-slider").fill("3")  # between keyframes: interpolated
    assert lefts() == [12, 16]
    assert page.locator("#item-image").get_attribute("src").endswith("/frames/3")
    page.get_by_label("w1").uncheck()
    expect(page.locator('#item-viewer g[data-worker-name="w1"]')).to_be_hidden()
