"""A streaming job's work page (issue 16): with nothing to do the labeler waits, and an item
posted meanwhile shows up without a reload."""

import re
from typing import TYPE_CHECKING

import pytest

from labeling.pipelines.services.streaming import stream_configure
from labeling.services.jobs import job_create, job_start
from tests.browser.test_labeling_flow import sign_in
from tests.conftest import client_for

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def test_an_idle_labeler_gets_a_posted_item_without_reloading(page: "Page", manager, team, labeler):
    job = job_create(
        created_by=manager,
        name="stream-page",
        task_type="text-classification",
        labels=["cat", "dog"],
        team=team,
    )
    stream_configure(job=job, by=manager)
    job.refresh_from_db()
    job_start(job=job, by=manager)
    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.goto(f"/work/jobs/{job.pk}/")
    expect(page.locator("#work-status")).to_contain_text("No items right now")
    page_url = page.url
    posted = client_for(manager).post(
        f"/api/v1/jobs/{job.pk}/items", {"clientKey": "a", "source": "a purring cat"}, format="json"
    )
    assert posted.status_code == 201
    target = page.locator("classification-target")
    expect(target).to_contain_text("a purring cat", timeout=15_000)
    assert page.url == page_url
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("1")
    expect(page.locator("#work-status")).to_contain_text("No items right now")
