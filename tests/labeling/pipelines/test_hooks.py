"""Pre- and post-annotation hooks against a local HTTP receiver: the managed service's event
JSON both ways, signatures, retries, garbage, no-human items, consolidation by the hook, the
sweep and the console page (who may register, see and change hooks: test_hook_access.py)."""

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from labeling.models import (
    ConsolidatedLabel,
    CustomTemplateVersion,
    HookCall,
    HookItem,
    Item,
)
from labeling.pipelines.services.hook_queue import HOOK_SWEEP_GRACE_SECONDS, hooks_sweep
from labeling.pipelines.services.hook_runs import payload_token
from labeling.selectors import job_progress
from labeling.services.annotations import annotation_submit
from labeling.services.assignments import assignment_claim
from labeling.services.jobs import job_start
from labeling.states import ItemStatus, JobStatus
from labeling.task_ui.rendering import render_task, task_context
from labeling.task_ui.services.templates import custom_template_create, job_template_set
from tests.conftest import import_lines
from tests.labeling.pipelines.hook_helpers import LINES, hooked_job, register


def job_arn(job) -> str:
    return f"{settings.QUORUM_ARN_PREFIX}:labeling-job/{job.name}"


def pre_answer(event):
    n = event["dataObject"]["n"]
    return 200, {
        "taskInput": {"taskObject": f"prepared {n}", "n": n},
        "isHumanAnnotationRequired": "true",
    }


def test_pre_annotation_event_answer_signature_and_task_input(
    make_job, manager, manager_client, labeler, hook_receiver, django_capture_on_commit_callbacks
):
    hook_receiver.answer = pre_answer
    hook = register(manager_client, hook_receiver.url)
    assert hook["secret"] == "s3cret" and hook["kind"] == "http"
    job = hooked_job(make_job, manager_client, pre=hook["id"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_lines(job, manager, LINES)
    # Stored, but held from labelers until the hook answered.
    assert set(Item.objects.filter(job=job).values_list("status", flat=True)) == {"held"}
    job_start(job=job, by=manager)
    assert assignment_claim(job=job, worker=labeler) is None
    for callback in callbacks:
        callback()

    events = sorted(hook_receiver.events(), key=lambda event: event["dataObject"]["n"])
    assert events == [
        {"version": "2018-10-16", "labelingJobArn": job_arn(job), "dataObject": line}
        for line in LINES
    ]
    assert hook_receiver.verified("s3cret")
    assert set(Item.objects.filter(job=job).values_list("status", flat=True)) == {"open"}
    lease = assignment_claim(job=job, worker=labeler)
    n = json.loads(lease.item.data)["n"]
    assert task_context(lease)["task"]["input"] == {
        "source": f"text {n}",
        "n": n,
        "taskObject": f"prepared {n}",
    }
    assert HookItem.objects.get(item=lease.item).task_input == {
        "taskObject": f"prepared {n}",
        "n": n,
    }
    body = manager_client.get(f"/api/v1/jobs/{job.pk}/hooks").json()
    assert body["pre_hook"]["name"] == "prep"
    assert body["items"] == {"held": 0, "failed": 0, "no_human": 0}
    assert len(body["recent_calls"]) == 4
    assert all(call["ok"] and call["http_status"] == 200 for call in body["recent_calls"])


def test_a_hook_that_times_out_fails_its_item_after_retries_and_the_job_goes_on(
    make_job, manager, manager_client, labeler, hook_receiver, django_capture_on_commit_callbacks
):
    hook_receiver.answer = pre_answer
    hook = register(manager_client, hook_receiver.url, timeout_seconds=0.3)
    job = hooked_job(make_job, manager_client, pre=hook["id"])
    slow = {"n": 1}

    def answer(event):
        if event["dataObject"]["n"] == slow["n"]:
            time.sleep(1.0)
        return pre_answer(event)

    hook_receiver.answer = answer
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, LINES)
    (failed,) = [i for i in Item.objects.filter(job=job) if json.loads(i.data)["n"] == 1]
    assert failed.status == ItemStatus.FAILED
    state = HookItem.objects.get(item=failed)
    assert state.failure_reason == "pre-annotation: timed out after 3 attempts"
    calls = HookCall.objects.filter(item=failed).order_by("attempt")
    assert [(c.attempt, c.ok, c.error) for c in calls] == [
        (1, False, "timed out"),
        (2, False, "timed out"),
        (3, False, "timed out"),
    ]
    assert Item.objects.filter(job=job, status=ItemStatus.OPEN).count() == 3
    # The job goes on: the three others labeled, it completes without the failed one.
    job_start(job=job, by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            lease = assignment_claim(job=job, worker=labeler)
            annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    body = manager_client.get(f"/api/v1/jobs/{job.pk}/hooks").json()
    assert body["items"]["failed"] == 1
    assert body["failures"] == [
        {"item_id": failed.pk, "failure_reason": "pre-annotation: timed out after 3 attempts"}
    ]


def test_garbage_answers_fail_their_items_at_once(
    make_job, manager, manager_client, hook_receiver, django_capture_on_commit_callbacks
):
    def answer(event):
        n = event["dataObject"]["n"]
        if n == 0:
            return 200, b"<html>not json"
        if n == 1:
            return 200, {"taskInput": "a string", "isHumanAnnotationRequired": "true"}
        if n == 2:
            return 200, {"taskInput": {}, "isHumanAnnotationRequired": "maybe"}
        return 500, {"error": "boom"}

    hook_receiver.answer = answer
    hook = register(manager_client, hook_receiver.url)
    job = hooked_job(make_job, manager_client, pre=hook["id"])
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, LINES)
    reasons = {
        json.loads(state.item.data)["n"]: state.failure_reason
        for state in HookItem.objects.filter(job=job).select_related("item")
    }
    assert reasons == {
        0: "pre-annotation: the answer is not JSON",
        1: "pre-annotation: taskInput is not a JSON object",
        2: 'pre-annotation: isHumanAnnotationRequired is neither "true" nor "false"',
        3: "pre-annotation: HTTP 500 after 3 attempts",
    }
    # Garbage is not retried; a 5xx is.
    attempts = {
        json.loads(item.data)["n"]: HookCall.objects.filter(item=item).count()
        for item in Item.objects.filter(job=job)
    }
    assert attempts == {0: 1, 1: 1, 2: 1, 3: 3}
    assert set(Item.objects.filter(job=job).values_list("status", flat=True)) == {"failed"}


def test_no_human_needed(
    make_job, manager, manager_client, labeler, hook_receiver, django_capture_on_commit_callbacks
):
    def answer(event):
        n = event["dataObject"]["n"]
        if n == 0:  # no human, and nothing the task type reads: left out
            return 200, {"taskInput": {"why": "blank"}, "isHumanAnnotationRequired": "false"}
        if n == 1:  # no human, with a label under the job's attribute: labeled by the hook
            return 200, {"taskInput": {"animal": "dog"}, "isHumanAnnotationRequired": "false"}
        return pre_answer(event)

    hook_receiver.answer = answer
    hook = register(manager_client, hook_receiver.url)
    job = hooked_job(make_job, manager_client, pre=hook["id"], label_attribute_name="animal")
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, LINES)
    statuses = {json.loads(i.data)["n"]: i.status for i in Item.objects.filter(job=job)}
    assert statuses == {0: "no_human", 1: "labeled", 2: "open", 3: "open"}
    label = ConsolidatedLabel.objects.get(item__job=job)
    assert (label.label, label.value, label.human_annotated, label.method) == (
        "dog",
        {"label": "dog", "class_id": 1},
        False,
        "pre-annotation-hook",
    )
    job_start(job=job, by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            lease = assignment_claim(job=job, worker=labeler)
            annotation_submit(assignment_id=lease.pk, worker=labeler, answer={"label": "cat"})
    progress = job_progress(job_id=job.pk)
    assert (progress.items_total, progress.items_labeled) == (3, 3)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED


def consolidation_answer(attribute: str, label: str, confidence: float | None = None):
    def answer(event):
        payload = event["payload"]
        content = {attribute: {"label": label}}
        if confidence is not None:
            content[f"{attribute}-metadata"] = {"confidence": confidence}
        return 200, [
            {
                "datasetObjectId": entry["datasetObjectId"],
                "consolidatedAnnotation": {"content": content},
            }
            for entry in payload
        ]

    return answer


def test_consolidation_hook_end_to_end_with_two_workers(
    make_job,
    make_labeler,
    manager,
    manager_client,
    hook_receiver,
    django_capture_on_commit_callbacks,
):
    hook_receiver.answer = consolidation_answer("animal", "dog", confidence=0.75)
    hook = register(manager_client, hook_receiver.url, name="acs")
    job = hooked_job(
        make_job,
        manager_client,
        consolidation=hook["id"],
        inline=True,
        workers_per_item=2,
        label_attribute_name="animal",
    )
    import_lines(job, manager, LINES[:1])
    job_start(job=job, by=manager)
    first, second = make_labeler("w1"), make_labeler("w2")
    with django_capture_on_commit_callbacks(execute=True):
        for worker, label in ((first, "cat"), (second, "bird")):
            lease = assignment_claim(job=job, worker=worker)
            annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": label})
    item = Item.objects.get(job=job)
    (event,) = hook_receiver.events()
    assert event == {
        "version": "2018-10-16",
        "labelingJobArn": job_arn(job),
        "labelAttributeName": "animal",
        "roleArn": "",
        "outputConfig": "",
        "payload": [
            {
                "datasetObjectId": str(item.pk),
                "dataObject": LINES[0],
                "annotations": [
                    {
                        "workerId": str(first.pk),
                        "annotationData": {"content": json.dumps({"label": "cat"})},
                    },
                    {
                        "workerId": str(second.pk),
                        "annotationData": {"content": json.dumps({"label": "bird"})},
                    },
                ],
            }
        ],
    }
    assert hook_receiver.verified("s3cret")
    label = ConsolidatedLabel.objects.get(item=item)
    assert (label.label, label.value, label.method, label.human_annotated) == (
        "dog",
        {"label": "dog", "class_id": 1},
        "consolidation-hook",
        True,
    )
    assert (label.answers_count, label.confidence) == (2, 0.75)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED


def test_consolidation_payload_by_signed_url(
    make_job,
    make_labeler,
    manager,
    manager_client,
    hook_receiver,
    django_capture_on_commit_callbacks,
    client,
):
    seen = {}

    def answer(event):
        seen["event"] = event
        return 200, []  # no entry for the item: it fails

    hook_receiver.answer = answer
    hook = register(manager_client, hook_receiver.url, name="acs")
    job = hooked_job(make_job, manager_client, consolidation=hook["id"])
    import_lines(job, manager, LINES[:2])
    job_start(job=job, by=manager)
    worker = make_labeler("w1")
    with django_capture_on_commit_callbacks(execute=True):
        lease = assignment_claim(job=job, worker=worker)
        annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    url = seen["event"]["payload"]["s3Uri"]
    assert url.startswith("/api/v1/hook-payloads/")
    document = client.get(url)  # no credentials: the signature is the credential
    assert document.status_code == 200
    assert document.json() == [
        {
            "datasetObjectId": str(lease.item_id),
            "dataObject": json.loads(lease.item.data),
            "annotations": [
                {
                    "workerId": str(worker.pk),
                    "annotationData": {"content": json.dumps({"label": "cat"})},
                }
            ],
        }
    ]
    assert client.get(url + "x").status_code == 404
    forged = payload_token(job_id=job.pk, item_ids=[lease.item_id]).replace(":", ";", 1)
    assert client.get(f"/api/v1/hook-payloads/{forged}").status_code == 404
    state = HookItem.objects.get(item_id=lease.item_id)
    assert state.failure_reason == (
        f"consolidation: datasetObjectId {lease.item_id} is missing from the answer"
    )
    assert Item.objects.get(pk=lease.item_id).status == ItemStatus.FAILED


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        (
            [{"datasetObjectId": "999999", "consolidatedAnnotation": {"content": {}}}],
            "unknown datasetObjectId '999999'",
        ),
        (
            [{"datasetObjectId": "{id}", "consolidatedAnnotation": {"content": {"other": 1}}}],
            "consolidatedAnnotation.content has no 'animal'",
        ),
        (
            [
                {
                    "datasetObjectId": "{id}",
                    "consolidatedAnnotation": {"content": {"animal": "horse"}},
                }
            ],
            "animal: ",
        ),
        ({"not": "a list"}, "the answer is not a list"),
    ],
)
def test_a_wrong_consolidation_answer_fails_the_item_with_the_reason(
    entries,
    reason,
    make_job,
    make_labeler,
    manager,
    manager_client,
    hook_receiver,
    django_capture_on_commit_callbacks,
):
    def answer(event):
        (entry,) = event["payload"]
        if entry["dataObject"]["n"] == 1:  # the other item is consolidated as it should be
            return consolidation_answer("animal", "cat")(event)
        return 200, json.loads(json.dumps(entries).replace("{id}", entry["datasetObjectId"]))

    hook_receiver.answer = answer
    hook = register(manager_client, hook_receiver.url, name="acs")
    job = hooked_job(
        make_job,
        manager_client,
        consolidation=hook["id"],
        inline=True,
        label_attribute_name="animal",
    )
    import_lines(job, manager, LINES[:2])
    job_start(job=job, by=manager)
    worker = make_labeler("w1")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            lease = assignment_claim(job=job, worker=worker)
            annotation_submit(assignment_id=lease.pk, worker=worker, answer={"label": "cat"})
    failed = Item.objects.get(job=job, status=ItemStatus.FAILED)
    assert json.loads(failed.data)["n"] == 0
    reason_stored = HookItem.objects.get(item=failed).failure_reason
    assert reason_stored.startswith(f"consolidation: {reason}")
    (call,) = HookCall.objects.filter(item=failed)  # garbage is not retried
    assert (call.attempt, call.ok, call.error) == (
        1,
        False,
        reason_stored.removeprefix("consolidation: "),
    )
    assert ConsolidatedLabel.objects.get(job=job).label == "cat"
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED  # the failed item is not waited for


def test_the_sweep_queues_again_what_lost_its_message(
    make_job, manager, manager_client, hook_receiver, django_capture_on_commit_callbacks
):
    hook_receiver.answer = pre_answer
    hook = register(manager_client, hook_receiver.url)
    job = hooked_job(make_job, manager_client, pre=hook["id"])
    with django_capture_on_commit_callbacks(execute=False):  # the import's event is lost
        import_lines(job, manager, LINES)
    assert hooks_sweep() == {"pre_chunks": 0, "consolidations": 0}  # not yet: within grace
    later = timezone.now() + timedelta(seconds=HOOK_SWEEP_GRACE_SECONDS + 1)
    assert hooks_sweep(now=later) == {"pre_chunks": 1, "consolidations": 0}
    assert set(Item.objects.filter(job=job).values_list("status", flat=True)) == {"open"}


def test_the_console_page_shows_calls_and_failures(
    make_job, manager, manager_client, hook_receiver, django_capture_on_commit_callbacks, client
):
    hook_receiver.answer = lambda event: (404, {})
    hook = register(manager_client, hook_receiver.url)
    job = hooked_job(make_job, manager_client, pre=hook["id"])
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, LINES[:1])
    client.force_login(manager)
    page = client.get(f"/console/jobs/{job.pk}/hooks")
    assert page.status_code == 200
    text = page.content.decode()
    assert "pre-annotation: HTTP 404" in text and 'id="hook-calls"' in text
    assert client.get(f"/console/jobs/{job.pk}/").content.decode().count('id="hooks-link"') == 1


CUSTOM_TEMPLATE = """<crowd-form>
  <crowd-input name="answer" label="{{ task.input.taskObject }} / {{ task.input.n }}"></crowd-input>
</crowd-form>"""


def test_a_custom_template_sees_exactly_the_task_input(
    make_job, manager, manager_client, labeler, hook_receiver, django_capture_on_commit_callbacks
):
    hook_receiver.answer = lambda event: (
        200,
        {"taskInput": {"taskObject": "from the hook"}, "isHumanAnnotationRequired": "true"},
    )
    hook = register(manager_client, hook_receiver.url)
    job = hooked_job(make_job, manager_client, pre=hook["id"], task_type="custom")
    template = custom_template_create(created_by=manager, name="t", source=CUSTOM_TEMPLATE)
    version = CustomTemplateVersion.objects.get(template=template, number=template.latest_version)
    job_template_set(job=job, version=version, by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        import_lines(job, manager, LINES[:1])
    job_start(job=job, by=manager)
    lease = assignment_claim(job=job, worker=labeler)
    html = render_task(lease)
    assert "from the hook / " in html  # the line's "n" is not in task.input
    assert "text 0" not in html
