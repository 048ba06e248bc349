"""The quality dashboard, its hot spots and the paused message, in headless Chromium."""

import re
from typing import TYPE_CHECKING

import pytest

from labeling.quality.services.gold import gold_items_add
from labeling.quality.services.reliability import job_quality_configure, job_quality_reestimate
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from tests.browser.test_labeling_flow import sign_in
from tests.conftest import import_lines

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def test_a_manager_reads_agreement_and_opens_a_hot_spot(
    page: "Page", make_job, make_labeler, manager, screenshot
):
    job = make_job(items=4, workers_per_item=2)
    workers = [make_labeler(name) for name in ("u1", "u2")]
    for first, second in (("cat", "cat"), ("dog", "bird"), ("bird", "bird"), ("cat", "dog")):
        for worker, label in zip(workers, (first, second), strict=True):
            lease = assignment_claim(job=job, worker=worker)
            annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    job_quality_reestimate(job_id=job.pk)

    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/")
    page.locator("#quality-link").click()
    expect(page.get_by_role("heading", name="Label quality")).to_be_visible()
    expect(page.locator("svg.hbars").first).to_be_visible()
    expect(page.locator("#worker-quality")).to_contain_text("u1")
    expect(page.locator("#answers-spent")).to_have_text("8")
    screenshot(page, "quality-dashboard")

    page.locator("#hot-spots a").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Item #"))).to_be_visible()
    expect(page.locator("#votes")).to_contain_text("u1")


def test_a_paused_labeler_is_told_why_on_the_work_page(page: "Page", make_job, manager, labeler):
    job = make_job(items=0, workers_per_item=1, start=False)  # the gold first in the queue
    gold_items_add(job=job, entries=[{"data": {"source": "check me"}, "label": "dog"}])
    import_lines(job, manager, [{"source": f"text {i}"} for i in range(2)])
    job_start(job=job, by=manager)
    job.refresh_from_db()
    job_quality_configure(job=job, gold_rate=1.0, gold_min_answers=1, gold_pause_below=0.5)
    lease = assignment_claim(job=job, worker=labeler)
    annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})

    sign_in(page, "lab1", "lab1-pass-1")
    page.goto(f"/work/jobs/{job.pk}/")
    expect(page.get_by_text("You are paused on this job")).to_be_visible()


def test_a_manager_reads_box_agreement_and_opens_the_least_agreed_item(
    page: "Page", make_job, make_labeler, manager, settings, screenshot
):
    """Issue 19: a box job's page shows alpha by IoU, the similarity histogram, per-worker
    means, and links the items with the least agreement."""
    import numpy as np

    from labeling.quality.math.shape_simulation import ShapeWorker, box_answer, box_truth
    from tests.task_types.helpers import write_image

    write_image(settings.MEDIA_ROOT, "photo.png", size=(640, 480))
    job = make_job(
        items=0, start=False, task_type="image-bounding-box", labels=["car"], workers_per_item=2
    )
    import_lines(job, manager, [{"source-ref": "photo.png", "n": i} for i in range(3)])
    job.refresh_from_db()
    job_start(job=job, by=manager)
    rng = np.random.default_rng(8)
    truths = dict(
        zip(
            job.items.order_by("id").values_list("id", flat=True),
            box_truth(rng, 3, ["car"]),
            strict=True,
        )
    )
    for name, skill in (("b1", 0.95), ("b2", 0.5)):
        worker = make_labeler(name)
        while (lease := assignment_claim(job=job, worker=worker)) is not None:
            answer = box_answer(rng, truths[lease.item_id], ShapeWorker(skill), ["car"])
            annotation_submit(assignment_id=lease.pk, worker=worker, answer=answer)

    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/quality")
    section = page.locator("#shape-agreement")
    expect(section).to_contain_text("box IoU")
    expect(section).to_contain_text("1 − similarity")
    expect(section.locator("svg.hbars").first).to_be_visible()
    expect(page.locator("#shape-quantiles")).to_contain_text("Median")
    screenshot(page, "quality-box-agreement")
    page.locator("#shape-lowest a").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Item #"))).to_be_visible()
