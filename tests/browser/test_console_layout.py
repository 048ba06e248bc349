"""The console and the task pages fit the window: no horizontal scrolling at 1366×768 or at
400×800 (the top navigation used to overflow at 400 px), and Submit stays on screen at
768 px height; and videos uploaded through the job page, a bad one named."""

import json
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse

from labeling.models import Item
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from tests.browser.test_labeling_flow import sign_in
from tests.task_types.helpers import image_job, write_image
from tests.task_types.test_video import write_video

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

VIEWPORTS = [(1366, 768), (400, 800)]

# What sticks out of the window, if anything: the page's widths and the widest culprits.
OVERFLOW = """() => {
    const root = document.documentElement;
    const limit = root.clientWidth;
    const culprits = [];
    for (const node of document.body.querySelectorAll('*')) {
        const rect = node.getBoundingClientRect();
        if (rect.right > limit + 1 && rect.width > 0 && !node.closest('dialog:not([open])')) {
            culprits.push(`${node.tagName.toLowerCase()}.${node.className}`.slice(0, 60));
        }
    }
    return {scroll: root.scrollWidth, client: limit, culprits: culprits.slice(0, 6)};
}"""


def assert_fits(page: "Page", where: str) -> None:
    sizes = page.evaluate(OVERFLOW)
    assert sizes["scroll"] <= sizes["client"], f"{where} scrolls sideways: {sizes}"


def console_urls(job) -> list[str]:
    return [
        reverse("console-jobs"),
        reverse("console-job-new"),
        reverse("console-job", args=[job.pk]),
        reverse("console-job-quality", args=[job.pk]),
        reverse("console-job-review", args=[job.pk]),
        reverse("console-job-items", args=[job.pk]),
        reverse("console-item", args=[job.pk, job.items.order_by("id").first().pk]),
        reverse("console-job-workforce", args=[job.pk]),
        reverse("console-job-auto-labeling", args=[job.pk]),
        reverse("console-teams"),
        reverse("console-templates"),
        reverse("console-flows"),
        reverse("console-flow-new"),
        reverse("console-access-keys"),
    ]


def test_no_console_page_scrolls_sideways(
    browser, live_server, manager, team, labeler, settings, make_labeler
):
    write_image(settings.MEDIA_ROOT, "street.png", size=(640, 400))
    job = image_job(
        manager,
        team,
        task_type="image-bounding-box",
        labels=["car", "person", "a-rather-long-label-name-for-narrow-screens"],
        lines=[{"source-ref": "street.png"}, {"source-ref": "street.png"}],
    )
    assignment = assignment_claim(job=job, worker=labeler)
    annotation_submit(
        assignment_id=assignment.pk,
        worker=labeler,
        answer={
            "annotatedResult": {
                "boundingBoxes": [
                    {"label": "car", "left": 10, "top": 10, "width": 50, "height": 40}
                ],
                "inputImageProperties": {"width": 640, "height": 400},
            }
        },
    )
    make_labeler("lab2")
    for width, height in VIEWPORTS:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            sign_in(page, "pm", "manager-pass-1")
            page.wait_for_url("**/console/")
            for url in console_urls(job):
                page.goto(url)  # waits for "load": stylesheets and images are in
                assert_fits(page, f"{url} at {width}×{height}")
            # The navigation stays usable at any width: every link is inside the window.
            for link in page.locator(".topnav a").all():
                box = link.bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= width
        finally:
            context.close()


def test_the_task_page_fits_and_submit_stays_on_screen(
    browser, live_server, manager, team, labeler, settings
):
    write_image(settings.MEDIA_ROOT, "street.png", size=(1600, 1200))
    frames = [write_image(settings.MEDIA_ROOT, f"f{i}.png", size=(320, 200)) for i in range(3)]
    jobs = {
        "crowd-bounding-box": image_job(
            manager,
            team,
            task_type="image-bounding-box",
            labels=["car", "person"],
            lines=[{"source-ref": "street.png"}],
        ),
        "crowd-video-object-tracking": image_job(
            manager,
            team,
            task_type="video-object-tracking",
            labels=["car"],
            lines=[{"frames": frames}],
        ),
        "crowd-semantic-segmentation": image_job(
            manager,
            team,
            task_type="image-semantic-segmentation",
            labels=["sky", "road"],
            lines=[{"source-ref": "street.png"}],
        ),
    }
    for width, height in VIEWPORTS:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            sign_in(page, "lab1", "lab1-pass-1")
            page.wait_for_url("**/work/")
            assert_fits(page, f"/work/ at {width}×{height}")
            for element, job in jobs.items():
                page.goto(f"/work/jobs/{job.pk}/")
                page.wait_for_selector(f"{element}[data-ready]")
                assert_fits(page, f"{element} at {width}×{height}")
                submit = page.locator(".crowd-form-submit").bounding_box()
                assert submit is not None
                assert submit["y"] >= 0 and submit["y"] + submit["height"] <= height, (
                    element,
                    width,
                    height,
                    submit,
                )
                assert submit["x"] + submit["width"] <= width
        finally:
            context.close()


def test_a_manager_uploads_videos_and_a_bad_one_is_named(page: "Page", make_job, manager, tmp_path):
    job = make_job(items=0, start=False, task_type="video-object-tracking", labels=["car"])
    good = tmp_path / "street.mp4"
    write_video(good, frames=5)
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/")
    expect(page.get_by_label("Video files")).to_be_visible()
    page.set_input_files(
        "#import-file",
        files=[
            {"name": "street.mp4", "mimeType": "video/mp4", "buffer": good.read_bytes()},
            {"name": "broken.mp4", "mimeType": "video/mp4", "buffer": b"not a video at all"},
        ],
    )
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-phase")).to_have_text("failed")
    errors = page.locator("#import-errors li")
    expect(errors).to_have_count(1)
    expect(errors.nth(0)).to_contain_text("broken.mp4")
    expect(errors.nth(0)).to_contain_text("cannot be decoded")
    assert not Item.objects.filter(job=job).exists()

    page.set_input_files("#import-file", str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-phase")).to_have_text("succeeded")
    expect(page.locator("#import-message")).to_contain_text("Imported 1 item(s)")
    expect(page.locator("#recent-imports")).to_contain_text("1 video(s)")
    (item,) = Item.objects.filter(job=job)
    assert len(json.loads(item.data)["frames"]) == 5


# How many lines each text of ``selector`` takes: a word broken over lines takes two or more.
TEXT_LINES = """(selector) => [...document.querySelectorAll(selector)].map((node) => {
    const range = document.createRange();
    range.selectNodeContents(node);
    const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)));
    return [node.textContent.trim(), tops.size];
})"""

# Pairs of top-bar controls whose boxes overlap.
TOPBAR_OVERLAPS = """() => {
    const nodes = [...document.querySelectorAll('.topbar .brand, .topnav a, .whoami > *')];
    const boxes = nodes.map((node) => [node.textContent.trim(), node.getBoundingClientRect()]);
    const overlaps = [];
    boxes.forEach(([name, a], i) => boxes.slice(i + 1).forEach(([other, b]) => {
        const across = a.left < b.right - 1 && b.left < a.right - 1;
        if (across && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
            overlaps.push(`${name} / ${other}`);
        }
    }));
    return overlaps;
}"""


def test_the_top_bar_overlaps_nothing_on_a_phone(browser, live_server, manager, make_labeler):
    # A short name, as the demo's: a longer one pushed "Sign out" to its own line and hid this.
    make_labeler("bob")
    for username, password, home in [
        ("bob", "bob-pass-1", "/work/"),
        ("pm", "manager-pass-1", "/console/"),
    ]:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 400, "height": 800}
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            sign_in(page, username, password)
            page.wait_for_url(f"**{home}")
            assert page.evaluate(TOPBAR_OVERLAPS) == [], username
            # Each link of the navigation reads on one line ("My jobs", not "My" over "jobs").
            assert all(lines == 1 for _, lines in page.evaluate(TEXT_LINES, ".topnav a")), username
        finally:
            context.close()


def test_console_tables_keep_their_words_whole_on_a_phone(browser, live_server, make_job, manager):
    make_job(name="streetcars", items=2)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 400, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, "pm", "manager-pass-1")
        page.wait_for_url("**/console/")
        # The jobs table used to squeeze its columns to one letter a line ("s/t/r/e/e/t…").
        broken = [
            text
            for text, lines in page.evaluate(TEXT_LINES, ".table th, .table td a")
            if lines > len(text.split())
        ]
        assert broken == []
        # The table scrolls inside its card; the page itself does not scroll sideways.
        assert_fits(page, "/console/ at 400×800")
        wrap = page.locator(".table-wrap").first
        assert wrap.evaluate("(node) => getComputedStyle(node).overflowX") == "auto"
    finally:
        context.close()


def test_the_labelers_answers_fit_a_phone(browser, live_server, make_job, labeler):
    job = make_job(items=2, workers_per_item=1)
    for label in ("cat", "dog"):
        lease = assignment_claim(job=job, worker=labeler)
        annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": label})
    context = browser.new_context(base_url=live_server.url, viewport={"width": 400, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, "lab1", "lab1-pass-1")
        page.wait_for_url("**/work/")
        page.goto(reverse("work-my-answers", args=[job.pk]))
        expect(page.locator("#my-answers tbody tr")).to_have_count(2)
        # The table sat straight in the page, so a phone scrolled the whole page sideways.
        assert_fits(page, "my answers at 400×800")
    finally:
        context.close()
