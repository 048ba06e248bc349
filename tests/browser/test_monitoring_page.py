"""The monitoring page in a real browser: inline SVG figures under the strict policy (no
inline style, nothing from elsewhere), the alert banner, the window and version selectors."""

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from tests.workflows.conftest import make_flow  # noqa: F401 - fixtures
from tests.workflows.monitoring.conftest import audited_flow, give_labels, post  # noqa: F401
from workflows.monitoring.services.alerts import monitoring_evaluate
from workflows.monitoring.services.baselines import baseline_set
from workflows.monitoring.services.config import monitor_config_update

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def test_a_manager_reads_the_monitoring_page(page: "Page", audited_flow, manager, screenshot):  # noqa: F811
    flow = audited_flow()
    monitor_config_update(flow=flow, false_alarm_labels=200)
    baseline_set(flow=flow, model_version="v1", accuracy=0.92)
    start = timezone.now() - timedelta(hours=3)
    give_labels(post(flow, 120, version="v1"), True, at=start)
    give_labels(
        post(flow, 150, version="v1", confidence=0.95),
        [i % 3 != 0 for i in range(150)],
        at=start + timedelta(minutes=30),
    )
    give_labels(post(flow, 40, version="v2"), True)
    monitoring_evaluate(flow=flow)

    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/login/")
    page.get_by_label("Username").fill("pm")
    page.get_by_label("Password").fill("manager-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/console/flows/{flow.pk}/")
    expect(page.locator(".alert-banner")).to_contain_text("Model quality alert")
    page.locator("#monitoring-link").click()
    expect(page.locator("#accuracy-chart svg")).to_be_visible()
    expect(page.locator("#calibration-chart svg")).to_be_visible()
    expect(page.locator(".alert-banner")).to_contain_text("Most confused: dog → cat")
    assert page.locator("#accuracy-chart svg circle").count() >= 1
    expect(page.locator("#audited")).to_have_text("40")  # the newest version first: v2
    assert page.locator("#accuracy-chart svg .baseline-band").count() == 0  # none yet
    expect(page.locator("#versions-table tbody tr")).to_have_count(2)  # side by side
    page.locator("select[name=version]").select_option("v1")
    page.locator("select[name=window]").select_option("day")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#audited")).to_have_text("270")
    assert page.locator("#accuracy-chart svg .baseline-band").count() == 1
    assert page.locator("#accuracy-chart svg .alert-open").count() == 1
    expect(page.locator("#confusion-table")).to_contain_text("50")
    expect(page.locator("#alert-timeline li")).to_have_count(1)
    screenshot(page, "flow-monitoring")
    assert violations == []
