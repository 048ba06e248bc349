"""Browser benchmark of the image annotation UI: frame time while panning an image with
1,000 boxes, and time to first interaction on a 20-megapixel image.

Headless Chromium (Debian's, through the playwright package; software rendering, no GPU)
loads <crowd-bounding-box> from static/ through a local file server on 127.0.0.1 — the
element is plain ES modules, so no Django stack is needed. Measured:

  (a) pan: 240 steps of panBy() + a synchronous draw, timing each draw (CPU ms per frame),
      with 1,000 boxes on a 1920x1080 image and on a 5472x3648 (20 MP) image, at fit-to-view
      and at 100 % zoom; and a real drag with the middle mouse button, timing the intervals
      between animation frames (what the labeler sees);
  (b) first interaction on the 20 MP JPEG: from navigation start to the element's
      "crowd-image-ready" (image fetched, decoded off the main thread, first drawn) and the
      longest main-thread task meanwhile; then a mouse drag that draws a box, timed until
      the box is drawn.

Targets: under 16 ms per frame, under 1 s to first interaction. Prints one JSON object and
appends a row to bench/RESULTS.md (--no-record: print only).

    .venv/bin/python bench/ui_render.py
"""

import argparse
import functools
import http.server
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
from _harness import OUT, REPO, command_line, git_commit, record
from _probes import machine, percentile
from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WORK = OUT / "ui"
BOXES = 1_000
PAN_STEPS = 240
RUNS = 3
LABELS = ["car", "person", "bicycle", "sign"]
FRAME_BUDGET_MS = 16.7

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/quorum/quorum.css"></head>
<body><main class="page page-wide">
<crowd-bounding-box id="el" name="annotatedResult" src="/{image}" labels='{labels}'
  initial-value='{boxes}' header="Bench"></crowd-bounding-box>
</main>
<script type="module" src="/quorum/elements/index.js"></script>
</body></html>
"""


def make_image(path: Path, width: int, height: int) -> None:
    """A photo-like JPEG: smooth gradients with grain (so it decodes like a real photo)."""
    if path.exists():
        return
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    base = np.stack(
        [200 * x + 30 * y, 120 + 100 * np.sin(6 * x + 3 * y), 220 * y * (1 - x) + 20], axis=-1
    )
    grain = rng.normal(0, 12, size=(height, width, 1)).astype(np.float32)
    pixels = np.clip(base + grain, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG", quality=88)


def make_boxes(width: int, height: int) -> list[dict]:
    rng = np.random.default_rng(11)
    boxes = []
    for i in range(BOXES):
        w = int(rng.integers(width // 80, width // 12))
        h = int(rng.integers(height // 80, height // 12))
        boxes.append(
            {
                "label": LABELS[i % len(LABELS)],
                "left": int(rng.integers(0, width - w)),
                "top": int(rng.integers(0, height - h)),
                "width": w,
                "height": h,
            }
        )
    return boxes


def write_page(name: str, image: str, size: tuple[int, int]) -> None:
    html = PAGE.format(
        image=image,
        labels=json.dumps(LABELS),
        boxes=json.dumps(make_boxes(*size)),
    )
    (WORK / name).write_text(html)


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves /quorum/ from static/quorum and everything else from the bench's work folder."""

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0]
        if clean.startswith("/quorum/"):
            return str(REPO / "static" / clean.lstrip("/"))
        return str(WORK / clean.lstrip("/"))

    def log_message(self, *args) -> None:
        pass


def serve() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


PAN_SCRIPT = """async ([steps, zoom]) => {
  const el = document.getElementById("el");
  el.fit();
  if (zoom) el.zoomAt(1 / el.scale, el.canvas.clientWidth / 2, el.canvas.clientHeight / 2);
  const times = [];
  for (let i = 0; i < steps; i += 1) {
    el.panBy(i % 60 < 30 ? 4 : -4, i % 40 < 20 ? 2 : -2);
    const started = performance.now();
    el.renderNow();
    // Reading a pixel back makes the canvas rasterise now, so the time is the whole draw.
    el.context.getImageData(0, 0, 1, 1);
    times.push(performance.now() - started);
  }
  el.fit();
  return times;
}"""

FRAME_WATCH = """() => {
  window.__frames = [];
  const loop = (t) => {
    window.__frames.push(t);
    if (window.__watching) requestAnimationFrame(loop);
  };
  window.__watching = true;
  requestAnimationFrame(loop);
}"""


def stats(values: list[float]) -> dict:
    return {
        "p50_ms": round(percentile(values, 0.5), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "max_ms": round(max(values), 2),
        "over_16ms": sum(1 for v in values if v > FRAME_BUDGET_MS + 0.5),
        "frames": len(values),
    }


def pan_figures(page, base: str, name: str) -> dict:
    page.goto(f"{base}/{name}")
    page.wait_for_selector("#el[data-ready]", timeout=60_000)
    # The smaller copies of the image are made off the main thread after it first shows;
    # the steady state of panning is measured once they are there.
    page.wait_for_function("() => document.getElementById('el').levels.length > 0")
    out = {}
    for zoom in (False, True):
        times = page.evaluate(PAN_SCRIPT, [PAN_STEPS, zoom])
        out["zoom_100" if zoom else "fit"] = stats(times[10:])  # after warm-up
    # A real drag with the middle button: intervals between animation frames.
    page.evaluate(FRAME_WATCH)
    box = page.locator("#el canvas").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down(button="middle")
    for i in range(120):
        page.mouse.move(cx + (i % 40) * 5 - 100, cy + (i % 20) * 3 - 30)
    page.mouse.up(button="middle")
    frames = page.evaluate("() => { window.__watching = false; return window.__frames; }")
    intervals = [b - a for a, b in zip(frames, frames[1:], strict=False)][2:]
    out["drag_frame_interval"] = stats(intervals) if intervals else {}
    out["last_render_ms"] = round(page.evaluate("document.getElementById('el').lastRenderMs"), 2)
    return out


FIRST_INTERACTION_WATCH = """() => {
  window.__longest = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__longest = Math.max(window.__longest, entry.duration);
    }
  }).observe({ type: "longtask", buffered: true });
  document.addEventListener("crowd-image-ready", () => { window.__ready = performance.now(); });
}"""


def first_interaction(browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(f"({FIRST_INTERACTION_WATCH})()")
    page.goto(f"{base}/big.html")
    page.wait_for_selector("#el[data-ready]", timeout=60_000)
    ready = page.evaluate("window.__ready")
    longest = page.evaluate("window.__longest")
    # The first thing a labeler does: press on the image and drag. Timed from the press to
    # the end of the frame that shows its effect (two animation frames later at most).
    page.evaluate(
        """() => document.querySelector("#el canvas").addEventListener("pointerdown", () => {
            const t0 = performance.now();
            requestAnimationFrame(() => requestAnimationFrame(() => {
                window.__drawn = performance.now() - t0;
            }));
        }, { once: true, capture: true })"""
    )
    box = page.locator("#el canvas").bounding_box()
    x, y = box["x"] + 100, box["y"] + 100
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 40, steps=3)
    page.mouse.up()
    page.wait_for_function("() => window.__drawn !== undefined")
    drawn = page.evaluate("window.__drawn")
    context.close()
    return {
        "ready_ms": round(ready, 1),
        "longest_main_thread_task_ms": round(longest, 1),
        "press_to_frame_ms": round(drawn, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    print("making images…", file=sys.stderr)
    make_image(WORK / "hd.jpg", 1920, 1080)
    make_image(WORK / "big.jpg", 5472, 3648)
    write_page("hd.html", "hd.jpg", (1920, 1080))
    write_page("big.html", "big.jpg", (5472, 3648))
    server, base = serve()
    figures: dict = {
        "machine": machine(),
        "code": git_commit(),
        "boxes": BOXES,
        # The machine is shared: its load says how much the figures may be inflated.
        "load_average_1min": os.getloadavg()[0],
    }
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            print("panning…", file=sys.stderr)
            figures["pan_hd_1000_boxes"] = pan_figures(page, base, "hd.html")
            figures["pan_20mp_1000_boxes"] = pan_figures(page, base, "big.html")
            context.close()
            print("first interaction…", file=sys.stderr)
            runs = [first_interaction(browser, base) for _ in range(RUNS)]
            figures["first_interaction_20mp"] = {
                key: sorted(run[key] for run in runs)[RUNS // 2] for key in runs[0]
            }
            figures["first_interaction_20mp"]["runs"] = runs
            browser.close()
    finally:
        server.shutdown()
    hd, big, first = (
        figures["pan_hd_1000_boxes"],
        figures["pan_20mp_1000_boxes"],
        figures["first_interaction_20mp"],
    )
    summary = (
        f"{BOXES} boxes, draw per pan frame p50/p95: HD fit {hd['fit']['p50_ms']}/"
        f"{hd['fit']['p95_ms']} ms, HD 100% {hd['zoom_100']['p50_ms']}/"
        f"{hd['zoom_100']['p95_ms']} ms, "
        f"20 MP fit {big['fit']['p50_ms']}/{big['fit']['p95_ms']} ms, 20 MP 100% "
        f"{big['zoom_100']['p50_ms']}/{big['zoom_100']['p95_ms']} ms; drag frame interval p95 "
        f"HD {hd['drag_frame_interval'].get('p95_ms')} ms, 20 MP "
        f"{big['drag_frame_interval'].get('p95_ms')} ms; 20 MP first interaction: ready "
        f"{first['ready_ms']} ms, longest main-thread task {first['longest_main_thread_task_ms']} "
        f"ms, press to drawn frame {first['press_to_frame_ms']} ms (median of {RUNS}); "
        f"load average {figures['load_average_1min']:.1f} on 2 cores"
    )
    record(command_line(), summary, figures, write=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
