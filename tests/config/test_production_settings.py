"""Production settings as docs/operations.md describes them: behind a proxy that terminates
HTTPS, ``QUORUM_TRUST_X_FORWARDED_PROTO=1`` makes Django see the request as secure (so secure
cookies, CSRF's origin check and redirects use https); without it the header is ignored.
"""

import json
import subprocess
import sys

import pytest

from tests.processes import ROOT, embedded_env

SEES_HTTPS = """
import json, django
django.setup()
from django.conf import settings
from django.test import RequestFactory
request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="labels.example.org")
print(json.dumps({
    "secure": request.is_secure(),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "debug": settings.DEBUG,
}))
"""


def _production(tmp_path, **values: str) -> dict:
    env = embedded_env(
        tmp_path,
        SECRET_KEY="p" * 50,
        ALLOWED_HOSTS="labels.example.org",
        DJANGO_SETTINGS_MODULE="config.settings",
        **values,
    )
    run = subprocess.run(
        [sys.executable, "-c", SEES_HTTPS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("trust, secure", [("1", True), ("", False)], ids=["trusted", "ignored"])
def test_the_forwarded_proto_header_counts_only_when_the_operator_says_so(tmp_path, trust, secure):
    seen = _production(tmp_path, QUORUM_TRUST_X_FORWARDED_PROTO=trust)
    assert seen == {"secure": secure, "session_cookie_secure": True, "debug": False}
