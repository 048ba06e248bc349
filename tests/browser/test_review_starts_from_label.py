"""Issue 14 in headless Chromium, round 2: review of masks and video starts from the
consolidated label in the type's own element: a reviewer fixes a mask with the brush, and
accepts a tracked box with Enter."""

from typing import TYPE_CHECKING

import numpy as np
import pytest

from labeling.models import ConsolidatedLabel, ItemEvent
from labeling.review.services.reviews import job_review_configure, team_reviewer_set
from tests.browser.test_image_annotation import drag
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


def _reviewer_of(job, make_labeler):
    reviewer = make_labeler("rev")
    team_reviewer_set(job=job, user_id=reviewer.pk, reviewer=True)
    return reviewer


def test_a_reviewer_fixes_a_mask_painted_from_the_consolidated_label(
    page: "Page", settings, manager, team, make_labeler, screenshot
):
    write_image(settings.MEDIA_ROOT, "road.png", size=(200, 100))
    job = image_job(
        manager, team, task_type="image-semantic-segmentation", labels=["sky", "road"],
        lines=[{"source-ref": "road.png"}],
    )  # fmt: skip
    index_map = np.zeros((100, 200), dtype=np.uint8)
    index_map[:40] = 1  # sky above, nothing between, road below
    index_map[60:] = 2
    answer = {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": 200, "height": 100},
            "labelMappings": {label: {"color": color} for label, color in COLORS.items()},
            "labeledImage": {"pngImageData": png_of(index_map)},
        }
    }
    job_review_configure(job=job, mode="all")
    work(job, [make_labeler("w1")], [[answer]])
    reviewer = _reviewer_of(job, make_labeler)
    before = ConsolidatedLabel.objects.get(item__job=job).value["pixels"]
    assert before == {"sky": 8000, "road": 8000}

    sign_in(page, "rev", "rev-pass-1")
    page.goto(f"/work/jobs/{job.pk}/review")
    element = "crowd-semantic-segmentation"
    page.wait_for_selector(f"{element}[data-initial-loaded]")  # the consolidated mask, painted
    expect(page.locator("#starts-empty")).to_have_count(0)
    counts = page.evaluate(f"document.querySelector('{element}').counts()")
    assert counts == [4000, 8000, 8000]  # none, sky, road
    page.keyboard.press("2")  # paint road with the labelers' brush over the empty band
    page.keyboard.press("b")
    drag(page, element, (20, 50), (180, 50))
    screenshot(page, "review-fix-mask")
    page.keyboard.press("Enter")
    expect(page.locator("#editor-status")).to_contain_text("Fixed")
    expect(page.locator("#review-empty")).to_be_visible()
    label = ConsolidatedLabel.objects.get(item__job=job)
    assert (label.review_status, label.method, label.reviewed_by) == ("fixed", "review", reviewer)
    # The 24 px brush over the 20 px empty band covers two rows of the sky's edge at most.
    assert 8000 - 2 * 200 <= label.value["pixels"]["sky"] < 8000
    assert label.value["pixels"]["road"] > 8000 + 160 * 15
    event = ItemEvent.objects.get(item__job=job, kind="review_fixed")
    assert event.data["before"]["value"]["pixels"] == before


def test_a_reviewer_sees_the_consolidated_track_and_accepts_it_with_enter(
    page: "Page", settings, manager, team, make_labeler
):
    frames = [write_image(settings.MEDIA_ROOT, f"v{i}.png", size=(64, 48)) for i in range(10)]
    job = image_job(
        manager, team, task_type="video-object-tracking", labels=["car", "person"],
        lines=[{"frames": frames}],
    )  # fmt: skip
    job_review_configure(job=job, mode="all")
    work(job, [make_labeler("w1")], [[tracking_answer([(0, 0), (9, 36)])]])
    _reviewer_of(job, make_labeler)

    sign_in(page, "rev", "rev-pass-1")
    page.goto(f"/work/jobs/{job.pk}/review")
    element = "crowd-video-object-tracking"
    page.wait_for_selector(f"{element}[data-ready]")
    expect(page.locator("#starts-empty")).to_have_count(0)
    track = page.evaluate(
        f"""() => {{
            const e = document.querySelector('{element}');
            return e.tracks.map((t) => [t.label, Object.keys(t.keyframes).length,
                                        e.boxAtFrame(t, 9).left]);
        }}"""
    )
    assert track == [["car", 10, 36]]  # every frame of the consolidated track, per frame
    page.keyboard.press("Enter")
    expect(page.locator("#editor-status")).to_contain_text("Accepted")
    label = ConsolidatedLabel.objects.get(item__job=job)
    assert (label.review_status, label.method) == ("accepted", "tracks-iou")
