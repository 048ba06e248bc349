"""A reviewer completes review loops in the labeler portal in headless Chromium; the flow's
webhook receiver (a local HTTP server) gets the output, correctly signed."""

import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import client_for
from tests.workflows.conftest import (  # noqa: F401 - fixtures
    make_flow,
    outbound_loopback_allowed,
    webhook_receiver,
)
from workflows.models import HumanLoop

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser
WEBHOOK_WAIT_SECONDS = 10


def sign_in(page: "Page", username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_reviewer_accepts_one_prediction_and_corrects_another(
    page: "Page",
    make_flow,  # noqa: F811 - the fixture imported above
    labeler,
    manager,
    webhook_receiver,  # noqa: F811 - the fixture imported above
    screenshot,
):
    flow = make_flow(
        name="animals",
        conditions={"confidence_below": 0.9},
        webhook_url=webhook_receiver.url,
        short_instructions="Check the animal the text names.",
    )
    routed = (
        client_for(manager)
        .post(
            f"/api/v1/flows/{flow.pk}/predictions",
            [
                {
                    "id": "a",
                    "input": {"source": "It meows."},
                    "prediction": {"label": "cat", "confidence": 0.6},
                },
                {
                    "id": "b",
                    "input": {"source": "It barks."},
                    "prediction": {"label": "bird", "confidence": 0.5},
                },
            ],
            format="json",
        )
        .json()["results"]
    )
    assert [r["decision"] for r in routed] == ["review", "review"]

    sign_in(page, "lab1", "lab1-pass-1")
    expect(page).to_have_url(re.compile(r"/work/$"))
    page.get_by_role("link", name="review-loops/animals").click()
    target = page.locator("classification-target")
    expect(target).to_contain_text("It meows.")
    expect(page.locator(".qc-prediction")).to_contain_text("The model says cat")
    expect(page.locator('.qc-choice[aria-pressed="true"]')).to_contain_text("cat")
    screenshot(page, "review-loop")
    page.keyboard.press("Enter")  # accept the model's label
    expect(page.locator("#done-count")).to_have_text("1")

    expect(target).to_contain_text("It barks.")
    expect(page.locator('.qc-choice[aria-pressed="true"]')).to_contain_text("bird")
    page.keyboard.press("2")  # correct it: dog
    expect(page.locator('.qc-choice[aria-pressed="true"]')).to_contain_text("dog")
    page.keyboard.press("Enter")
    expect(page.locator("#done-count")).to_have_text("2")
    # A flow's queue has no end (loops keep arriving): the page waits for the next one.
    expect(page.locator("#work-status")).to_contain_text("No items right now")

    loops = {loop.name: loop for loop in HumanLoop.objects.filter(flow=flow)}
    accepted, corrected = loops[routed[0]["loop"]], loops[routed[1]["loop"]]
    assert (accepted.status, accepted.human_label, accepted.agrees) == ("Completed", "cat", True)
    assert (corrected.status, corrected.human_label, corrected.agrees) == (
        "Completed",
        "dog",
        False,
    )

    deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
    while len(webhook_receiver.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    signed = webhook_receiver.verified(flow.webhook_secret)
    assert len(signed) == len(webhook_receiver.received) == 2
    by_loop = {hit["body"]["humanLoopName"]: hit["body"] for hit in signed}
    assert by_loop[accepted.name]["output"]["consolidatedAnswer"]["label"] == "cat"
    assert by_loop[corrected.name]["output"]["consolidatedAnswer"]["label"] == "dog"
    assert by_loop[corrected.name]["output"]["inputContent"] == {"source": "It barks."}
    assert all(hit["event"] == "human_loop.completed" for hit in signed)

    # The manager sees the routing and the agreement on the flow's dashboard.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "pm", "manager-pass-1")
    page.goto(f"/console/flows/{flow.pk}/")
    expect(page.locator("#review-share")).to_have_text("100%")
    expect(page.locator("#agreement")).to_have_text("50%")
    expect(page.locator("#labels-chart svg.chart-svg")).to_be_visible()
    expect(page.locator("#labels-chart")).to_contain_text("people corrected the model (1)")
    expect(page.locator("#delivery-log")).to_contain_text("Succeeded")
    screenshot(page, "flow-dashboard")
