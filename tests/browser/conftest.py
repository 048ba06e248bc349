"""Browser-test fixtures: headless Chromium driven by Playwright against the live server."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.services.jobs import job_start
from labeling.task_ui.selectors import custom_template_version
from labeling.task_ui.services.templates import custom_template_create, job_template_set
from tests.conftest import import_lines

# Playwright's sync API keeps an event loop running in this thread; the ORM calls that the
# tests make between browser steps are still plain synchronous calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT_DIR = os.environ.get("QUORUM_SCREENSHOT_DIR", "")
ELEMENTS_SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n'


@pytest.fixture(scope="session")
def browser() -> Iterator["Browser"]:
    if sync_playwright is None:
        pytest.skip("browser tests need the playwright package (pip install playwright)")
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db) -> Iterator["Page"]:
    """A fresh browser tab on the live server; fails the test on a script error or on any
    request that tries to leave the server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    script_errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))

    def only_the_live_server(route) -> None:
        if route.request.url.startswith(live_server.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_live_server)
    yield page
    context.close()
    assert not script_errors, f"script errors in the page: {script_errors}"
    assert not external, f"the page tried to load from elsewhere: {external}"


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under $QUORUM_SCREENSHOT_DIR when it is set."""

    def take(page: "Page", name: str) -> None:
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)

    return take


class TaskFrame:
    """A custom template's task as the labeler sees it: in the work page's sandboxed frame.

    Locators, waits and scripts run in the frame shown now; the keyboard and the mouse are
    the page's (the frame has the focus; coordinates are the page's)."""

    def __init__(self, page: "Page") -> None:
        self.page = page

    @property
    def keyboard(self):
        return self.page.keyboard

    @property
    def mouse(self) -> "FrameMouse":
        return FrameMouse(self.page)

    def frame(self):
        return self.page.wait_for_selector("iframe.task-frame").content_frame()

    def settle(self) -> None:
        """Wait until the page has sized the frame to its content (nothing scrolls inside it),
        so coordinates measured in the frame stay where the mouse goes."""
        self.frame().wait_for_function(
            "() => document.documentElement.scrollHeight <= window.innerHeight + 1"
        )

    def __getattr__(self, name: str):
        return getattr(self.frame(), name)


class FrameMouse:
    """The page's mouse, taking coordinates inside the task frame (as its scripts measure)."""

    def __init__(self, page: "Page") -> None:
        self.page = page

    def _at(self, x: float, y: float) -> tuple[float, float]:
        box = self.page.locator("iframe.task-frame").bounding_box()
        return box["x"] + x, box["y"] + y

    def move(self, x: float, y: float, **options) -> None:
        self.page.mouse.move(*self._at(x, y), **options)

    def click(self, x: float, y: float, **options) -> None:
        self.page.mouse.click(*self._at(x, y), **options)

    def dblclick(self, x: float, y: float, **options) -> None:
        self.page.mouse.dblclick(*self._at(x, y), **options)

    def down(self, **options) -> None:
        self.page.mouse.down(**options)

    def up(self, **options) -> None:
        self.page.mouse.up(**options)

    def wheel(self, delta_x: float, delta_y: float) -> None:
        self.page.mouse.wheel(delta_x, delta_y)


@pytest.fixture
def task(page: "Page") -> TaskFrame:
    return TaskFrame(page)


@pytest.fixture
def work_on(page: "Page", make_job, manager, labeler, task):
    """Start a custom job with ``source`` as its template and open its work page."""

    def start(source: str, line: dict, labels: list[str] | None = None):
        job = make_job(items=0, start=False, task_type="custom", labels=labels or ["x"])
        import_lines(job, manager, [line])
        template = custom_template_create(
            created_by=manager, name=f"t-{job.pk}", source=ELEMENTS_SCRIPT + source, sample=line
        )
        version = custom_template_version(template_id=template.pk)
        job_template_set(job=job, version=version, by=manager)
        job_start(job=job, by=manager)
        # Imported here: these need playwright, which the fixtures above may find missing.
        from playwright.sync_api import expect

        from tests.browser.test_labeling_flow import sign_in

        sign_in(page, "lab1", "lab1-pass-1")
        expect(page).to_have_url(re.compile(r"/work/$"))
        page.goto(f"/work/jobs/{job.pk}/")
        expect(task.locator("crowd-form .crowd-form-skip")).to_be_visible()
        task.settle()
        return job

    return start
