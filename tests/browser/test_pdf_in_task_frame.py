"""A PDF item in a custom template's <iframe>, as the managed service's templates frame it
(``src="{{ task.input.source_ref | grant_read_access }}"``), in Chromium.

Browsers run no PDF viewer inside a sandboxed frame, so the task frame hands the signed
link to the work page, which frames it on Quorum's own origin above the task: the media
answers 200 with the PDF, framable by Quorum's pages only (no ``X-Frame-Options: DENY``;
``frame-ancestors 'self'``), and a page of another origin cannot frame it.
"""

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from django.conf import settings

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)
expect = sync_api.expect
pytestmark = pytest.mark.browser

TEMPLATE = """<crowd-form>
  <iframe title="Invoice" src="{{ task.input.source_ref | grant_read_access }}"
          width="600" height="400"></iframe>
  <crowd-input name="total" label="Total on the invoice"></crowd-input>
</crowd-form>
"""


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text``, its cross-reference table with the right offsets."""
    stream = f"BT /F1 24 Tf 72 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# A port of this helper's range (ports 8451–8459) for the page of another origin.
OTHER_ORIGIN_PORT = 8452


@contextmanager
def other_origin_page(html: str) -> Iterator[str]:
    """Serve ``html`` at http://127.0.0.1:8452/ (another origin than the live server's) while
    the block runs; yields its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", OTHER_ORIGIN_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{OTHER_ORIGIN_PORT}/"
    finally:
        server.shutdown()
        server.server_close()


def _frame_url(handle, timeout: float = 10.0) -> str:
    """The URL the iframe ``handle`` settles on (a blocked frame shows Chromium's error page)."""
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        frame = handle.content_frame()
        url = frame.url if frame else ""
        if url and url != "about:blank":
            return url
        time.sleep(0.1)
    return url


def test_a_pdf_item_in_a_template_iframe_is_shown(
    page: "Page", task, work_on, browser, live_server
):
    (settings.MEDIA_ROOT / "invoice.pdf").write_bytes(tiny_pdf("Total 42"))
    # Chromium's PDF viewer is a built-in extension: its own files are no outside request.
    for viewer in ("chrome-extension://**/*", "chrome://resources/**/*"):
        page.route(viewer, lambda route: route.continue_())
    media_responses = []
    page.on(
        "response",
        lambda response: (
            media_responses.append(response) if "/api/v1/media/signed/" in response.url else None
        ),
    )
    work_on(TEMPLATE, {"source_ref": "invoice.pdf"})
    expect(task.locator(".task-media-note")).to_have_text("The document is shown above the task.")
    expect(task.locator("iframe")).to_have_count(0)
    media = page.locator("iframe.task-media")
    expect(media).to_have_count(1)
    expect(media).to_have_attribute("title", "Invoice")
    url = _frame_url(media.element_handle())
    assert url.startswith(f"{live_server.url}/api/v1/media/signed/"), url
    page.wait_for_timeout(500)
    # (The template's own iframe may have asked for it too before the frame's script lifted it.)
    response = next(r for r in media_responses if r.url == url)
    assert response.status == 200
    headers = response.all_headers()
    assert headers["content-type"] == "application/pdf"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert page.request.get(url).body().startswith(b"%PDF-1.4")
    # The iframe's document is the PDF, shown by Chromium's viewer (not an error page).
    document = media.element_handle().content_frame()
    assert document.evaluate("() => document.contentType") == "application/pdf"
    viewer = [f.url for f in document.child_frames]
    assert any(u.startswith("chrome-extension://") and u.endswith("/index.html") for u in viewer)

    # A page of another origin may not frame the same link: a page served by another server
    # on this machine (a local origin, so the browser does send the request) frames it, and
    # the browser refuses the answer.
    with other_origin_page(f'<iframe id="f" src="{url}"></iframe>') as elsewhere:
        other_context = browser.new_context()
        try:
            other = other_context.new_page()
            with other.expect_response(url) as refused:
                other.goto(elsewhere)
            assert refused.value.status == 200  # answered, and then refused by the browser
            framed = _frame_url(other.locator("#f").element_handle())
            assert framed.startswith("chrome-error://"), framed
        finally:
            other_context.close()
