"""One secret per installation, seen from a browser: ``manage.py serve`` with two web processes
on the embedded default (DEBUG=1, no SECRET_KEY, a fresh data folder) keeps a signed-in user
signed in across 30 page loads and 30 API calls from the page, whichever process answers, and
a signed media link made by a third process (a management command) is served by both.

Each request opens a connection of its own (gunicorn's keep-alive is off for this test), and
the access log carries the pid of the process that answered, so the test checks that both
web processes really served the pages, the API calls and the signed link.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict

import pytest

from tests.processes import ROOT, embedded_env, free_port, health

pytestmark = pytest.mark.browser

UP_WITHIN_SECONDS = 240
# Which process accepts a connection is up to the kernel and can be lopsided (24 to 7 pages
# in one run); 40 fetches make it all but certain that both serve the signed link.
SIGNED_LINK_FETCHES = 40
PAGES = ["/console/", "/console/teams", "/console/templates", "/console/jobs/new"]
ACCESS_LINE = re.compile(r"^pid=<(\d+)> (GET|POST) (\S+) (\d{3})$", re.MULTILINE)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
API_CALL = """async ([index]) => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const init = index % 2
    ? {method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
       body: JSON.stringify({name: `team-${index}`})}
    : {method: "GET"};
  const response = await fetch(index % 2 ? "/api/v1/teams" : "/api/v1/jobs",
                               {...init, credentials: "same-origin"});
  return [response.status, await response.text()];
}"""


def _manage(env: dict[str, str], *args: str) -> str:
    run = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


@pytest.fixture
def two_web_processes(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    env = embedded_env(
        var_dir,
        DEBUG="1",
        LOG_LEVEL="INFO",
        GUNICORN_CMD_ARGS="--keep-alive 0 --access-logformat 'pid=%(p)s %(m)s %(U)s %(s)s'",
    )
    _manage(env, "migrate", "--no-input", "-v0")
    _manage(env, "create_user", "boss", "--role", "manager", "--password", "boss-pass-12")
    (var_dir / "media").mkdir(exist_ok=True)
    (var_dir / "media" / "probe.png").write_bytes(PNG)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        serve = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + UP_WITHIN_SECONDS
        while health(port) is None and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(0.5)
        assert health(port) is not None, log_path.read_text()[-3000:]
        yield f"http://127.0.0.1:{port}", env, log_path.read_text
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGINT)
            try:
                serve.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
    assert (var_dir / "secret_key").exists(), "the key was not kept in the data folder"


def _pids_by_path(log: str) -> dict[str, set[str]]:
    pids: dict[str, set[str]] = defaultdict(set)
    for pid, _method, path, _status in ACCESS_LINE.findall(log):
        pids[path].add(pid)
    return pids


def test_a_session_and_a_signed_link_hold_across_two_web_processes(browser, two_web_processes):
    base, env, log = two_web_processes
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/login/")
        page.get_by_label("Username").fill("boss")
        page.get_by_label("Password").fill("boss-pass-12")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/$"))

        for index in range(30):
            path = PAGES[index % len(PAGES)]
            response = page.goto(path)
            assert response.status == 200, (index, path, response.status)
            assert page.url == base + path, f"page {index} ({path}) sent to {page.url}"
            assert page.locator("form[action='/logout/']").count() == 1, f"signed out at {index}"

        for index in range(30):
            status, body = page.evaluate(API_CALL, [index])
            assert status == (201 if index % 2 else 200), (index, status, body)
    finally:
        context.close()

    # A signed link made outside the web processes is honoured by each of them.
    link = _manage(
        env,
        "shell",
        "-c",
        "from labeling.task_ui.media import grant_read_access as g; print(g('probe.png'))",
    ).splitlines()[-1]
    assert link.startswith("/api/v1/media/signed/")
    for _ in range(SIGNED_LINK_FETCHES):
        with urllib.request.urlopen(base + link, timeout=10) as response:
            assert response.status == 200 and response.read() == PNG

    time.sleep(1)  # the access log is written after each response
    pids = _pids_by_path(log())
    page_pids = set().union(*(pids[path] for path in PAGES))
    api_pids = pids["/api/v1/jobs"] | pids["/api/v1/teams"]
    assert len(page_pids) == 2, f"pages were served by {page_pids} only"
    assert len(api_pids) == 2, f"API calls were served by {api_pids} only"
    assert len(pids[link]) == 2, f"the signed link was served by {pids[link]} only"
