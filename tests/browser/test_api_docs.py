"""The API docs page in headless Chromium: rendered offline, under the strict CSP (issue 12)."""

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser


def test_the_docs_page_renders_the_operations_with_nothing_from_elsewhere(page: "Page"):
    """The page fixture fails the test on a script error or a request off the live server."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = page.goto("/api/v1/docs")
    assert response is not None and response.ok
    assert "Content-Security-Policy" in {name.title() for name in response.headers}
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Quorum API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/jobs").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert not blocked, blocked
