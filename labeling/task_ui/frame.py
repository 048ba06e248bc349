"""The isolated task frame: a custom template's page on an opaque origin, with its own policy.

A custom template's own scripts (inline ``<script>``, ``on*=`` handlers, styles, and the
script, style and frame origins the operator allow-lists) run there, never on Quorum's page.
The work page shows the frame as ``<iframe sandbox="allow-scripts allow-forms">`` without
``allow-same-origin``, so the frame's origin is opaque: it reads none of Quorum's cookies
and its calls to Quorum are cross-origin and refused (``connect-src 'none'`` besides). The
frame's URL carries a signed token naming the lease; it is the permission, and it ends
with the lease. Submit, skip and release travel to the page by ``postMessage`` and the
page calls the API, whose checks of the answer are the same as for any other submit.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.html import format_html

SALT = "quorum.task_ui.frame"
FRAME_PATH_PREFIX = "/work/frame/"
ASSETS_PATH_PREFIX = "/work/frame-assets/"
SANDBOX = "allow-scripts allow-forms"
# The files of static/quorum/ the frame may load: the elements, their helpers and styles.
ASSET_NAME = re.compile(r"^(?:elements/)?[a-z0-9_][a-z0-9_-]*\.(?:js|css)$")
ASSET_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


class FrameTokenInvalid(Exception):
    """A frame token that is forged, damaged or past its lease; the message says which."""


@dataclass(frozen=True)
class FrameGrant:
    assignment_id: int
    worker_id: int


def frame_token(*, assignment_id: int, worker_id: int, expires_at: datetime) -> str:
    """A token naming the lease, valid until the lease's own end."""
    return signing.dumps(
        {"a": assignment_id, "w": worker_id, "e": int(expires_at.timestamp())},
        salt=SALT,
    )


def frame_token_open(token: str, *, now: datetime | None = None) -> FrameGrant:
    """The lease behind ``token``; raises ``FrameTokenInvalid``."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise FrameTokenInvalid("this task link is not valid") from None
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(key), int) for key in ("a", "w", "e")
    ):
        raise FrameTokenInvalid("this task link is not valid")
    if (now or timezone.now()).timestamp() > payload["e"]:
        raise FrameTokenInvalid("this task's time is up; it went back to the pool")
    return FrameGrant(assignment_id=payload["a"], worker_id=payload["w"])


def frame_url(*, assignment_id: int, worker_id: int, expires_at: datetime) -> str:
    token = frame_token(assignment_id=assignment_id, worker_id=worker_id, expires_at=expires_at)
    return f"{FRAME_PATH_PREFIX}{token}"


def frame_markup(*, url: str, assignment_id: int) -> str:
    """What the work page inserts for a custom template: the sandboxed frame, nothing else."""
    return format_html(
        '<iframe class="task-frame" src="{}" sandbox="{}" title="Task" '
        'referrerpolicy="no-referrer" data-task-frame="{}"></iframe>',
        url,
        SANDBOX,
        assignment_id,
    )


def frame_content_security_policy(origin: str) -> str:
    """The frame's own policy: inline scripts, handlers and styles run; scripts come only
    from the element assets and the allow-listed origins; nothing is fetched by script."""
    assets = f"{origin}{ASSETS_PATH_PREFIX}"
    scripts = " ".join(["'unsafe-inline'", assets, *settings.QUORUM_TEMPLATE_SCRIPT_ORIGINS])
    styles = " ".join(["'unsafe-inline'", origin, *settings.QUORUM_TEMPLATE_STYLE_ORIGINS])
    media = " ".join([origin, "data:", "blob:", *settings.QUORUM_CSP_MEDIA_ORIGINS])
    frames = " ".join([origin, *settings.QUORUM_TEMPLATE_FRAME_ORIGINS])
    fonts = " ".join([origin, "data:", *settings.QUORUM_TEMPLATE_STYLE_ORIGINS])
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; img-src {media}; "
        f"media-src {media}; font-src {fonts}; frame-src {frames}; connect-src 'none'; "
        "form-action 'none'; base-uri 'none'; object-src 'none'; frame-ancestors 'self'; "
        f"sandbox {SANDBOX}"
    )


def asset_content_type(name: str) -> str | None:
    """The content type of an element asset ``name``, or None when it is not one."""
    if not ASSET_NAME.match(name):
        return None
    return ASSET_TYPES[name.rsplit(".", 1)[1]]
