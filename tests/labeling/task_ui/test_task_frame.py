"""The isolated task frame on the server: what the work page gets for a custom template, the
frame's own page and policy, its signed per-lease URL, the element assets it loads, and the
Liquid printing and media framing that templates written for the managed service rely on."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import Assignment
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.task_ui.custom import render_custom
from labeling.task_ui.frame import FrameTokenInvalid, frame_token, frame_token_open
from labeling.task_ui.media import grant_read_access
from labeling.task_ui.selectors import custom_template_version
from labeling.task_ui.services.templates import custom_template_create, job_template_set
from tests.conftest import import_lines

pytestmark = pytest.mark.django_db

SCRIPTED = """<script src="https://assets.crowd.aws/crowd-html-elements-v2.js"></script>
<crowd-form><crowd-input name="note"></crowd-input></crowd-form>
<script>document.querySelector('crowd-form').onsubmit = function () {};</script>
<p>{{ task.input.source }}</p>
"""


@pytest.fixture
def custom_lease(make_job, manager, labeler):
    job = make_job(items=0, start=False, task_type="custom", labels=["x"])
    import_lines(job, manager, [{"source": "Hello"}])
    template = custom_template_create(created_by=manager, name="t", source=SCRIPTED, sample={})
    version = custom_template_version(template_id=template.pk)
    job_template_set(job=job, version=version, by=manager)
    job_start(job=job, by=manager)
    return assignment_claim(job=job, worker=labeler)


def frame_src(labeler, lease) -> str:
    client = Client()
    client.force_login(labeler)
    response = client.get(f"/work/assignments/{lease.pk}/ui")
    assert response.status_code == 200
    html = response.content.decode()
    match = re.fullmatch(
        r'<iframe class="task-frame" src="(/work/frame/[^"]+)" '
        r'sandbox="allow-scripts allow-forms" title="Task" referrerpolicy="no-referrer" '
        rf'data-task-frame="{lease.pk}"></iframe>',
        html,
    )
    assert match, html  # the page gets the frame only: none of the template's markup
    return match.group(1)


def test_the_work_page_gets_a_sandboxed_frame_without_same_origin(custom_lease, labeler):
    src = frame_src(labeler, custom_lease)
    assert "allow-same-origin" not in src


def test_the_frame_page_runs_the_template_under_its_own_policy(custom_lease, labeler):
    response = Client().get(frame_src(labeler, custom_lease))  # no session: the URL is the key
    assert response.status_code == 200
    html = response.content.decode()
    assert "onsubmit = function" in html and "<p>Hello</p>" in html
    # The newer loader line is replaced by Quorum's elements, served for the frame.
    assert "assets.crowd.aws" not in html
    assert '<script type="module" src="/work/frame-assets/elements/index.js">' in html
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'unsafe-inline' http://testserver/work/frame-assets/"
    assert directives["style-src"] == "'unsafe-inline' http://testserver"
    assert directives["connect-src"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["sandbox"] == "allow-scripts allow-forms"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Referrer-Policy"] == "no-referrer"


def test_operator_allow_listed_origins_join_the_frame_policy(custom_lease, labeler, settings):
    settings.QUORUM_TEMPLATE_SCRIPT_ORIGINS = ["https://cdn.example.org"]
    settings.QUORUM_TEMPLATE_STYLE_ORIGINS = ["https://fonts.example.org"]
    settings.QUORUM_TEMPLATE_FRAME_ORIGINS = ["https://viewer.example.org"]
    policy = Client().get(frame_src(labeler, custom_lease))["Content-Security-Policy"]
    assert "script-src 'unsafe-inline' http://testserver/work/frame-assets/ " in policy
    assert "https://cdn.example.org;" in policy
    assert "style-src 'unsafe-inline' http://testserver https://fonts.example.org;" in policy
    assert "frame-src http://testserver https://viewer.example.org;" in policy


def test_the_frame_url_ends_with_the_lease(custom_lease, labeler):
    src = frame_src(labeler, custom_lease)
    annotation_submit(assignment_id=custom_lease.pk, worker=labeler, answer={"note": "x"})
    response = Client().get(src)
    assert response.status_code == 404
    assert "no longer yours" in response.content.decode()
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_a_forged_or_expired_frame_token_is_refused(custom_lease, labeler):
    src = frame_src(labeler, custom_lease)
    token = src.removeprefix("/work/frame/")
    assert Client().get(src[:-2] + "xx").status_code == 404
    with pytest.raises(FrameTokenInvalid, match="time is up"):
        frame_token_open(token, now=timezone.now() + timedelta(days=2))
    # Another lease's id cannot be written into a token without the secret key.
    other = frame_token(
        assignment_id=custom_lease.pk,
        worker_id=custom_lease.worker_id + 1,
        expires_at=custom_lease.expires_at,
    )
    assert Client().get(f"/work/frame/{other}").status_code == 404
    Assignment.objects.filter(pk=custom_lease.pk).update(expires_at=timezone.now())
    assert Client().get(src).status_code == 404


def test_built_in_task_types_keep_the_strict_page(make_job, labeler):
    job = make_job(items=1)
    lease = assignment_claim(job=job, worker=labeler)
    client = Client()
    client.force_login(labeler)
    html = client.get(f"/work/assignments/{lease.pk}/ui").content.decode()
    assert "<crowd-form" in html and "task-frame" not in html


def test_element_assets_are_served_cors_readable_and_nothing_else():
    client = Client()
    response = client.get("/work/frame-assets/elements/crowd-form.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert b"class CrowdForm" in b"".join(response.streaming_content)
    assert client.get("/work/frame-assets/task-frame.js").status_code == 200
    for name in ("../settings.py", "elements/../../../config/settings.py", "quorum.py", "x/y.js"):
        assert client.get(f"/work/frame-assets/{name}").status_code == 404


def test_liquid_prints_lists_and_objects_as_json_not_python():
    task = {
        "input": {
            "blocks": [{"id": "k1", "text": "Name:", "ok": True, "none": None}],
            "keys": {"importantFormKey": "Name"},
            "flag": False,
            "missing": None,
        }
    }
    html = render_custom(
        "<x v=\"{{ task.input.blocks }}\" k='{{ task.input.keys }}'>"
        "{{ task.input.flag }}|{{ task.input.missing }}|</x>",
        task,
    )
    assert html == (
        '<x v="[{&#34;id&#34;:&#34;k1&#34;,&#34;text&#34;:&#34;Name:&#34;,&#34;ok&#34;:true,'
        "&#34;none&#34;:null}]\" k='{&#34;importantFormKey&#34;:&#34;Name&#34;}'>false||</x>"
    )


def test_signed_media_may_be_framed_by_quorums_own_pages(settings):
    (settings.MEDIA_ROOT / "form.pdf").write_bytes(b"%PDF-1.1\n")
    response = Client().get(grant_read_access("form.pdf"))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
