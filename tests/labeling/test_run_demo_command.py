"""``make run`` as a newcomer sees it: the demo comes up with Quorum's own error pages (never
Django's debug pages, which list every URL pattern), serves its static files and signs users
in over plain HTTP, keeps the terminal quiet (no access log, no Celery banner) and ends its
output with the demo sign-ins once it is up.

The test runs the ``manage.py`` lines of the Makefile's ``run`` recipe (``make -n run``, so
what is tested is what ``make run`` does) on a fresh data folder, with none of the suite's
settings.
"""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.processes import ROOT, embedded_env, free_port, health

UP_WITHIN_SECONDS = 240
SIGN_INS = ["manager / quorum-manager", "alice / quorum-alice", "carol / quorum-carol"]


def _make_run_lines(port: int) -> list[str]:
    """The shell lines ``make run`` would run to set up and start the demo."""
    dry_run = subprocess.run(
        ["make", "-n", "run", f"PY={sys.executable}", f"PORT={port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in dry_run.stdout.splitlines() if "manage.py" in line]


def _fetch(opener, url: str, data: dict | None = None, headers: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.geturl(), error.read().decode()


@pytest.fixture
def demo(tmp_path):
    """``make run`` in a fresh data folder: yields (base URL, a function reading its output)."""
    if not os.path.exists("/usr/bin/make") and not os.path.exists("/bin/make"):
        pytest.skip("this test reads the Makefile's run recipe with make, which is missing")
    port = free_port()
    env = embedded_env(tmp_path / "var")
    *setup, last = _make_run_lines(port)
    for line in setup:
        subprocess.run(["bash", "-c", line], cwd=ROOT, env=env, check=True, timeout=300)
    log_path = tmp_path / "make-run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["bash", "-c", f"exec env {last}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + UP_WITHIN_SECONDS
        while health(port) is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        assert health(port) is not None, log_path.read_text()[-3000:]
        yield f"http://127.0.0.1:{port}", log_path.read_text, deadline
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_make_run_serves_quorums_own_pages_quietly_and_ends_with_the_demo_sign_ins(demo):
    base, output, deadline = demo

    # The output ends with the sign-ins, printed once the server answers.
    while not all(sign_in in output() for sign_in in SIGN_INS) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # anything printed after the sign-ins would show up by now
    startup = output()
    last_lines = startup.strip().splitlines()[-4:]
    assert [line.split()[1:4] for line in last_lines] == [
        ["manager", "/", "quorum-manager"],
        ["alice", "/", "quorum-alice"],
        ["bob", "/", "quorum-bob"],
        ["carol", "/", "quorum-carol"],
    ], startup[-3000:]

    # Quorum's 404 page, not the technical page that lists every URL pattern.
    status, _, body = _fetch(urllib.request.build_opener(), f"{base}/no-such-page/")
    assert status == 404
    assert "There is nothing here that you can see." in body
    assert "URLconf" not in body and "Using the URLconf defined" not in body
    status, _, body = _fetch(urllib.request.build_opener(), f"{base}/api/v1/no-such-thing")
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"

    # Static files without collectstatic, and a sign-in over plain HTTP that sticks.
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    assert _fetch(browser, f"{base}/static/quorum/quorum.css")[0] == 200
    status, _, page = _fetch(browser, f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, url, _ = _fetch(
        browser,
        f"{base}/login/",
        {"csrfmiddlewaretoken": token, "username": "manager", "password": "quorum-manager"},
        {"Referer": f"{base}/login/"},
    )
    assert status == 200 and "/login/" not in url
    for _ in range(5):
        status, url, _ = _fetch(browser, f"{base}/console/")
        assert status == 200 and url.endswith("/console/")

    # Quiet: no line per request, no Celery banner, no INFO chatter; warnings still shown.
    time.sleep(1)
    quiet = output()
    assert "GET /console/" not in quiet, quiet[-3000:]
    assert "[queues]" not in quiet and "celery@" not in quiet, quiet[-3000:]
    assert " INFO " not in quiet and "Booting worker" not in quiet, quiet[-3000:]
    assert "Not Found: /no-such-page/" in quiet
