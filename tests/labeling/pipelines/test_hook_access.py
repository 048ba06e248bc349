"""Hooks: what may be registered (URLs, callables by dotted path) and who may see, change and
use them, on their own and on the jobs that name them."""

import json

import pytest

from labeling.models import AnnotationHook, HookCall, HookItem, Item, JobHooks, Role
from labeling.services.users import user_create
from labeling.states import JobStatus
from tests.conftest import client_for, import_lines
from tests.labeling.pipelines.hook_helpers import LINES, hooked_job, register

CALLABLE = "tests.labeling.pipelines.conftest.echo_callable"


def test_a_callable_hook_by_dotted_path(
    make_job, manager, manager_client, settings, django_capture_on_commit_callbacks
):
    settings.QUORUM_HOOK_CALLABLES = [CALLABLE]
    response = manager_client.post(
        "/api/v1/hooks", {"name": "echo", "callable_path": CALLABLE}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "callable" and response.json()["secret"] == ""
    job = hooked_job(make_job, manager_client, pre=response.json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, LINES[:2])
    inputs = sorted(
        (state.task_input for state in HookItem.objects.filter(job=job)),
        key=lambda task_input: task_input["echo"]["n"],
    )
    assert inputs == [{"echo": line} for line in LINES[:2]]
    assert set(Item.objects.filter(job=job).values_list("status", flat=True)) == {"open"}
    calls = HookCall.objects.filter(job=job)
    assert calls.count() == 2 and all(c.ok and c.http_status is None for c in calls)


def test_a_dotted_path_the_operator_did_not_allow_is_refused(manager_client, settings):
    settings.QUORUM_HOOK_CALLABLES = [CALLABLE]
    response = manager_client.post(
        "/api/v1/hooks", {"name": "os", "callable_path": "os.system"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "callable_path"
    assert "QUORUM_HOOK_CALLABLES" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8431/hook", "http://169.254.169.254/latest", "http://10.1.2.3/"]
)
def test_an_internal_url_is_refused_at_registration(manager_client, settings, url):
    settings.QUORUM_OUTBOUND_ALLOW = []
    response = manager_client.post("/api/v1/hooks", {"name": "in", "url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "url", "reason": "address_not_allowed"}


def test_who_may_see_change_and_use_hooks(make_job, manager_client, labeler, hook_receiver):
    hook = register(manager_client, hook_receiver.url)
    stored = AnnotationHook.objects.get(pk=hook["id"])
    assert "s3cret" not in stored.secret_encrypted  # encrypted at rest
    assert "secret" not in manager_client.get(f"/api/v1/hooks/{hook['id']}").json()
    assert client_for(labeler).get("/api/v1/hooks").status_code == 403
    assert (
        client_for(labeler)
        .post("/api/v1/hooks", {"name": "x", "url": hook_receiver.url})
        .status_code
        == 403
    )

    other, _, _ = user_create(username="pm2", role=Role.MANAGER, password="manager-pass-2")
    other_client = client_for(other)
    assert other_client.get("/api/v1/hooks").json() == []
    assert other_client.get(f"/api/v1/hooks/{hook['id']}").status_code == 404
    assert (
        other_client.patch(f"/api/v1/hooks/{hook['id']}", {"timeout_seconds": 5}).status_code == 404
    )
    assert other_client.delete(f"/api/v1/hooks/{hook['id']}").status_code == 404
    job = make_job(items=0, start=False)
    used = other_client.put(f"/api/v1/jobs/{job.pk}/hooks", {"pre_hook": hook["id"]}, format="json")
    assert used.status_code == 404
    assert not JobHooks.objects.filter(job=job).exists()
    # The owner names it; a running job's pre-annotation hook no longer changes; in use, kept.
    assert (
        manager_client.put(
            f"/api/v1/jobs/{job.pk}/hooks", {"pre_hook": hook["id"]}, format="json"
        ).status_code
        == 200
    )
    assert manager_client.delete(f"/api/v1/hooks/{hook['id']}").status_code == 409
    job.status = JobStatus.IN_PROGRESS
    job.save(update_fields=["status"])
    changed = manager_client.put(f"/api/v1/jobs/{job.pk}/hooks", {"pre_hook": None}, format="json")
    assert changed.status_code == 409


def test_another_manager_sees_a_jobs_hook_by_name_only(make_job, manager_client, hook_receiver):
    """The job is every manager's, the hook its owner's: another manager reading the job's hooks
    gets its name and kind, never its URL (it used to be all of it)."""
    hook = register(manager_client, hook_receiver.url)
    job = make_job(items=0, start=False)
    path = f"/api/v1/jobs/{job.pk}/hooks"
    named = manager_client.put(path, {"consolidation_hook": hook["id"]}, format="json")
    assert named.json()["consolidation_hook"]["url"] == hook_receiver.url
    other = client_for(user_create(username="pm2", role=Role.MANAGER, password="pm2-pass-1234")[0])
    body = other.get(path).json()
    seen = body["consolidation_hook"]
    assert (seen["id"], seen["name"], seen["kind"]) == (hook["id"], hook["name"], "http")
    assert seen["url"] == seen["callable_path"] == seen["arn"] == ""
    assert hook_receiver.url not in json.dumps(body)
    assert manager_client.get(path).json()["consolidation_hook"]["url"] == hook_receiver.url


def test_a_hook_another_manager_named_is_theirs_to_change(make_job, manager, hook_receiver):
    """Jobs are every manager's; a hook named on one stays its owner's: another manager may not
    replace or remove it (they cannot see where it points either), the job's creator may."""
    owner, _, _ = user_create(username="pm-hook", role=Role.MANAGER, password="pm-h-12345")
    owner = client_for(owner)
    hook = register(owner, hook_receiver.url)
    job = make_job(items=0, start=False)  # created by ``manager``
    path = f"/api/v1/jobs/{job.pk}/hooks"
    assert owner.put(path, {"consolidation_hook": hook["id"]}, format="json").status_code == 200

    other, _, _ = user_create(username="pm-other", role=Role.MANAGER, password="pm-o-12345")
    other = client_for(other)
    other_hook = register(other, hook_receiver.url, name="mine")
    for body in (
        {"consolidation_hook": None},
        {"consolidation_hook": other_hook["id"]},
        {"consolidation_hook": hook["id"], "payload_inline": True},
    ):
        refused = other.put(path, body, format="json")
        assert refused.status_code == 403, body
        assert refused.json()["error"]["code"] == "forbidden"
        assert "another manager's" in refused.json()["error"]["message"]
    stored = JobHooks.objects.get(job=job)
    assert (stored.consolidation_hook_id, stored.payload_inline) == (hook["id"], False)
    # Naming nothing new is no change; the pre-annotation hook is theirs to name.
    assert other.put(path, {"consolidation_hook": hook["id"]}, format="json").status_code == 200
    kept = other.put(
        path, {"consolidation_hook": hook["id"], "pre_hook": other_hook["id"]}, format="json"
    )
    assert kept.status_code == 200
    # The job's creator may remove a hook someone else named, and keep one they cannot see by
    # naming it again; so may its owner remove theirs.
    creator = client_for(manager)
    removed = creator.put(
        path, {"consolidation_hook": None, "pre_hook": other_hook["id"]}, format="json"
    )
    assert removed.status_code == 200
    stored = JobHooks.objects.get(job=job)
    assert (stored.consolidation_hook_id, stored.pre_hook_id) == (None, other_hook["id"])
    assert other.put(path, {"pre_hook": None}, format="json").status_code == 200
    assert JobHooks.objects.get(job=job).pre_hook_id is None
