"""The data manager and live dashboards in headless Chromium: filter and sort, a bulk action on
a filtered selection, a delete that names its count, figures that move without a reload."""

import re
from typing import TYPE_CHECKING

import pytest

from labeling.models import Item
from tests.browser.test_labeling_flow import sign_in
from tests.labeling.console.helpers import answer_next

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


@pytest.fixture
def answered_job(make_job, make_labeler):
    """Six items, three workers: cat (unanimous), dog (unanimous), cat (2-1), bird (2-1); two
    items still open."""
    job = make_job(items=6, workers_per_item=3)
    crowd = [make_labeler(name) for name in ("ann", "bob", "cyd")]
    for answers in (("cat",) * 3, ("dog",) * 3, ("cat", "cat", "dog"), ("bird", "dog", "bird")):
        for worker, label in zip(crowd, answers, strict=True):
            answer_next(job, worker, label)
    return job


def _ids_shown(page: "Page") -> list[int]:
    return [
        int(i)
        for i in page.locator("#items-table tbody tr").evaluate_all(
            "rows => rows.map(row => row.dataset.itemId)"
        )
    ]


def test_filter_and_sort_the_data_manager(page: "Page", answered_job, manager, screenshot):
    ids = list(Item.objects.filter(job=answered_job).order_by("id").values_list("id", flat=True))
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{answered_job.pk}/")
    page.locator("#items-link").click()
    expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()
    expect(page.locator("#items-table tbody tr")).to_have_count(6)
    expect(page.locator(f'#items-table tr[data-item-id="{ids[0]}"] a')).to_have_attribute(
        "href", f"/console/jobs/{answered_job.pk}/items/{ids[0]}"
    )

    page.locator("#f-status").select_option("labeled")
    page.locator("#f-label").select_option("cat")
    page.locator("#apply-filters").click()
    expect(page).to_have_url(re.compile(r"status=labeled.*label=cat|label=cat.*status=labeled"))
    expect(page.locator("#items-table tbody tr")).to_have_count(2)
    assert _ids_shown(page) == [ids[0], ids[2]]

    page.get_by_role("link", name="Confidence").click()
    expect(page).to_have_url(re.compile(r"sort=confidence"))
    assert _ids_shown(page) == [ids[2], ids[0]]  # 2/3 before 3/3
    page.get_by_role("link", name=re.compile("Confidence")).click()
    expect(page).to_have_url(re.compile(r"sort=-confidence"))
    assert _ids_shown(page) == [ids[0], ids[2]]
    screenshot(page, "data-manager-filtered")

    # The filter lives in the URL: opened afresh, the same rows.
    url = page.url
    page.goto("/console/")
    page.goto(url)
    assert _ids_shown(page) == [ids[0], ids[2]]
    expect(page.locator("#f-label")).to_have_value("cat")

    page.locator("#clear-filters").click()
    page.locator("#f-disagreement").select_option("yes")
    page.locator("#apply-filters").click()
    expect(page.locator("#items-table tbody tr")).to_have_count(2)
    assert _ids_shown(page) == [ids[2], ids[3]]


def test_a_bulk_action_on_a_filtered_selection(page: "Page", answered_job, manager):
    ids = list(Item.objects.filter(job=answered_job).order_by("id").values_list("id", flat=True))
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{answered_job.pk}/items?status=open")
    expect(page.locator("#items-table tbody tr")).to_have_count(2)
    page.locator("#select-page").check()
    expect(page.locator("#bulk-count")).to_have_text("2")
    page.locator("#select-all-matching").click()  # every open item, not only this page
    page.locator("#bulk-kind").select_option("priority")
    page.locator("#bulk-priority").fill("7")
    page.locator("#bulk-apply").click()
    expect(page.locator("#bulk-phase")).to_have_text("succeeded")
    expect(page.locator("#bulk-progress")).to_have_js_property("value", 1)
    expect(page.locator("#bulk-message")).to_contain_text("done for 2 item(s)")
    priorities = dict(Item.objects.filter(job=answered_job).values_list("id", "priority"))
    assert [priorities[i] for i in ids] == [0, 0, 0, 0, 7, 7]
    expect(page.locator(f'tr[data-item-id="{ids[4]}"] [data-col="priority"]')).to_have_text("7")

    # Picked rows only: send one labeled item to review.
    page.goto(f"/console/jobs/{answered_job.pk}/items?label=dog")
    page.locator(f'tr[data-item-id="{ids[1]}"] .pick').check()
    page.locator("#bulk-kind").select_option("review")
    page.locator("#bulk-apply").click()
    expect(page.locator("#bulk-phase")).to_have_text("succeeded")
    assert list(
        Item.objects.filter(job=answered_job, review_requested=True).values_list("id", flat=True)
    ) == [ids[1]]


def test_delete_asks_naming_the_count(page: "Page", make_job, manager):
    draft = make_job(items=5, start=False)
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{draft.pk}/items?q=text+1")
    expect(page.locator("#items-table tbody tr")).to_have_count(1)
    page.locator("#select-page").check()
    page.locator("#bulk-kind").select_option("delete")
    asked = []

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.locator("#bulk-apply").click()
    expect(page.locator("#bulk-phase")).to_have_text("succeeded")
    assert asked == ["Delete 1 item(s)? This cannot be undone."]
    assert Item.objects.filter(job=draft).count() == 4


def test_dashboards_change_without_a_reload_when_answers_arrive(
    page: "Page", make_job, make_labeler, manager
):
    job = make_job(items=3, workers_per_item=1)
    worker = make_labeler("ann")
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/")
    expect(page.locator('#job-figures [data-count="answers_total"]')).to_have_text("0")
    page.evaluate("window.__notReloaded = true")

    answer_next(job, worker, "cat")
    answer_next(job, worker, "dog")
    expect(page.locator('#job-figures [data-count="answers_total"]')).to_have_text("2")
    expect(page.locator('#job-figures [data-count="items_labeled"]')).to_have_text("2")
    expect(page.locator("#latest-answers")).to_contain_text("ann")
    assert page.evaluate("window.__notReloaded") is True

    page.goto(f"/console/jobs/{job.pk}/items")
    expect(page.locator('[data-live="answers_total"]')).to_have_text("2")
    page.evaluate("window.__notReloaded = true")
    last = answer_next(job, worker, "bird")
    expect(page.locator('[data-live="answers_total"]')).to_have_text("3")
    expect(page.locator(f'tr[data-item-id="{last}"] [data-col="label"]')).to_have_text("bird")
    assert page.evaluate("window.__notReloaded") is True


def test_the_job_page_label_table_and_chart_follow_the_answers_and_link_to_their_items(
    page: "Page", make_job, make_labeler, manager
):
    job = make_job(items=3, workers_per_item=1)
    worker = make_labeler("ann")
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/jobs/{job.pk}/")
    expect(page.locator("#labels-chart")).to_contain_text("No labels yet")
    page.evaluate("window.__notReloaded = true")

    first = answer_next(job, worker, "cat")
    answer_next(job, worker, "dog")
    # The labels table, the chart and the workers' figures used to wait for a reload.
    cat_row = page.locator("#label-distribution tr", has_text="cat")
    expect(cat_row.locator("td.num")).to_have_text("1")
    expect(page.locator("#labels-chart .chart-legend")).to_contain_text("cat (1)")
    expect(page.locator("#worker-stats")).to_contain_text("ann")
    assert page.evaluate("window.__notReloaded") is True

    # Each number opens the items behind it.
    cat_row.locator("td.num a").click()
    expect(page).to_have_url(re.compile(r"/items\?label=cat$"))
    assert _ids_shown(page) == [first]
    page.go_back()
    page.locator("#worker-stats td.num a").first.click()
    expect(page).to_have_url(re.compile(r"/items\?worker=ann$"))
    assert len(_ids_shown(page)) == 2
    page.go_back()
    page.locator("#open-items-link").click()
    expect(page).to_have_url(re.compile(r"/items\?status=open$"))
    assert len(_ids_shown(page)) == 1
