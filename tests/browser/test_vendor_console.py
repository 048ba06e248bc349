"""The vendor console in headless Chromium: sign in, land on it, add and reset a member."""

from typing import TYPE_CHECKING

import pytest

from labeling.workforces.services.workforces import job_grant, vendor_create
from tests.browser.test_labeling_flow import sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def test_a_vendor_manager_runs_their_organization(page: "Page", make_job, screenshot):
    vendor = vendor_create(
        name="Acme", manager_username="acme-boss", manager_password="acme-b0ss-pass"
    )
    job = make_job(items=3, data_may_leave_private=True)
    job_grant(job=job, team=vendor)

    sign_in(page, "acme-boss", "acme-b0ss-pass")
    expect(page.get_by_role("heading", name="Acme", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="My organization")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("table[data-table=jobs]")).to_contain_text(job.name)

    page.get_by_label("Name").fill("acme-labeler")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("“acme-labeler” is a member now.")).to_be_visible()
    row = page.locator("table[data-table=members] tr", has_text="acme-labeler")
    row.get_by_role("button", name="Reset invitation").click()
    expect(page.get_by_text("one-time password, shown only now")).to_be_visible()
    screenshot(page, "vendor-console")
